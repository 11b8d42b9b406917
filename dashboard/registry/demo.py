"""Demo data of the registry area: what a demo dataset describes about itself (schema, size, version)."""

from __future__ import annotations

import random
from typing import Any

# Columns per kind of demo dataset (the labels `seed.DATASET_NAMES` uses).
COLUMNS: dict[str, list[dict[str, str]]] = {
    "training set": [
        {"name": "example_id", "type": "string"},
        {"name": "text", "type": "string"},
        {"name": "label", "type": "category"},
        {"name": "split", "type": "category"},
        {"name": "created_at", "type": "timestamp"},
    ],
    "holdout set": [
        {"name": "example_id", "type": "string"},
        {"name": "text", "type": "string"},
        {"name": "label", "type": "category"},
    ],
    "labelled feedback": [
        {"name": "feedback_id", "type": "string"},
        {"name": "answer", "type": "string"},
        {"name": "rating", "type": "int"},
        {"name": "reviewer", "type": "string"},
        {"name": "reviewed_at", "type": "timestamp"},
    ],
}
FORMATS = ("parquet", "parquet", "jsonl", "csv")


def dataset_fields(rng: random.Random, label: str, index: int) -> dict[str, Any]:
    """The schema, size, format and version of one demo dataset."""
    return {
        "description": f"The project's {label}, refreshed with each labelling round.",
        "format": FORMATS[(index + rng.randrange(len(FORMATS))) % len(FORMATS)],
        "version": f"v{rng.randint(1, 6)}",
        "size_bytes": rng.randrange(20, 4000) * 1_000_000,
        "columns": COLUMNS.get(label, COLUMNS["training set"]),
    }
