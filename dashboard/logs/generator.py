"""Believable training-run log lines, for the demo seed, `simulate_run` and the benchmark.

Deterministic for a given `random.Random`: the same seed writes the same story.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dashboard.logs import lines
from dashboard.logs.models import ExperimentRun, RunLogLine

COMPONENTS = ("trainer", "data", "evaluator", "checkpoint", "scheduler", "gpu", "storage")
MODELS = ("resnet50", "vit-b16", "bert-base", "llama-7b-lora", "t5-small", "whisper-tiny")
DATASETS = ("imagenet-1k", "support-tickets-v3", "invoices-2024", "kb-articles", "call-transcripts")


@dataclass
class LogEvent:
    severity: str
    component: str
    message: str
    fields: dict[str, Any] | None = None


def _setup(rng: random.Random) -> list[LogEvent]:
    model = rng.choice(MODELS)
    dataset = rng.choice(DATASETS)
    batch = rng.choice((16, 32, 64, 128))
    lr = rng.choice((1e-4, 3e-4, 5e-4, 1e-3))
    gpus = rng.choice((1, 2, 4, 8))
    return [
        LogEvent(
            "info", "scheduler", "Run accepted by scheduler", {"queue": "gpu-a100", "priority": "normal"}
        ),
        LogEvent("info", "gpu", f"Allocated {gpus} × A100 80GB", {"gpus": gpus, "driver": "550.54"}),
        LogEvent(
            "debug", "trainer", "Resolved configuration", {"model": model, "batch_size": batch, "lr": lr}
        ),
        LogEvent(
            "info", "data", f"Loading dataset {dataset}", {"dataset": dataset, "shards": rng.randint(8, 64)}
        ),
        LogEvent("info", "storage", "Mounted s3://diatonic-lab-artifacts read-only", {"region": "us-east-2"}),
        LogEvent("info", "trainer", f"Model {model} initialised", {"parameters_m": rng.randint(20, 7000)}),
    ]


def _step(rng: random.Random, step: int, loss: float) -> LogEvent:
    roll = rng.random()
    if roll < 0.55:
        return LogEvent(
            "info",
            "trainer",
            f"step {step} loss={loss:.4f}",
            {"step": step, "loss": round(loss, 4), "lr": 3e-4, "tokens_per_s": rng.randint(9000, 14000)},
        )
    if roll < 0.72:
        return LogEvent("debug", "data", f"prefetched batch {step + 2}", {"queue_depth": rng.randint(1, 8)})
    if roll < 0.80:
        return LogEvent(
            "debug",
            "gpu",
            "utilisation sample",
            {"util_pct": rng.randint(60, 99), "mem_gb": rng.randint(40, 79)},
        )
    if roll < 0.86:
        return LogEvent(
            "info",
            "evaluator",
            f"eval at step {step}: accuracy={min(0.99, 0.5 + step / 20000):.3f}",
            {"step": step, "accuracy": round(min(0.99, 0.5 + step / 20000), 3), "split": "validation"},
        )
    if roll < 0.90:
        return LogEvent(
            "info",
            "checkpoint",
            f"saved checkpoint step-{step}",
            {"path": f"ckpt/step-{step}.pt", "size_mb": 412},
        )
    if roll < 0.955:
        return rng.choice(
            (
                LogEvent(
                    "warning", "data", "data loader slower than the GPU", {"wait_ms": rng.randint(120, 900)}
                ),
                LogEvent(
                    "warning", "gpu", "GPU memory above 90%", {"mem_gb": rng.randint(72, 79), "limit_gb": 80}
                ),
                LogEvent(
                    "warning", "trainer", "gradient norm clipped", {"norm": round(rng.uniform(5, 40), 2)}
                ),
                LogEvent(
                    "warning", "storage", "slow artifact upload, retrying", {"attempt": rng.randint(1, 3)}
                ),
            )
        )
    if roll < 0.97:
        return rng.choice(
            (
                LogEvent("error", "storage", "connection reset while uploading metrics", {"errno": 104}),
                LogEvent(
                    "error",
                    "data",
                    "corrupt record skipped",
                    {"shard": rng.randint(0, 63), "offset": step * 31},
                ),
                LogEvent("error", "evaluator", "metric computation failed: empty batch", {"step": step}),
            )
        )
    return LogEvent("debug", "scheduler", "heartbeat", {"step": step})


def _ending(rng: random.Random, outcome: str, step: int) -> list[LogEvent]:
    if outcome == "succeeded":
        return [
            LogEvent(
                "info", "evaluator", "final evaluation", {"accuracy": round(rng.uniform(0.86, 0.97), 3)}
            ),
            LogEvent("info", "checkpoint", "uploaded final model", {"path": "ckpt/final.pt"}),
            LogEvent("info", "trainer", f"training complete after {step} steps", {"steps": step}),
        ]
    if outcome == "failed":
        return rng.choice(
            (
                [
                    LogEvent("error", "gpu", "CUDA out of memory. Tried to allocate 2.50 GiB", {"device": 0}),
                    LogEvent(
                        "critical", "trainer", "training aborted: unrecoverable GPU error", {"step": step}
                    ),
                ],
                [
                    LogEvent("error", "trainer", "loss is NaN", {"step": step}),
                    LogEvent("critical", "trainer", "training aborted: loss diverged", {"step": step}),
                ],
            )
        )
    return [LogEvent("warning", "scheduler", "cancellation requested by user", {"step": step})]


def run_story(rng: random.Random, total: int, outcome: str | None) -> Iterator[LogEvent]:
    """`total` lines of a training run; its last lines tell the `outcome` (None: still running)."""
    opening = _setup(rng)
    ending = _ending(rng, outcome, total * 7) if outcome else []
    middle = max(0, total - len(opening) - len(ending))
    yield from opening[:total]
    loss = rng.uniform(2.5, 4.0)
    for index in range(middle):
        loss = max(0.05, loss * rng.uniform(0.995, 1.0005))
        yield _step(rng, (index + 1) * 7, loss)
    yield from ending[: max(0, total - len(opening))]


def story_lines(
    rng: random.Random,
    run: ExperimentRun,
    count: int,
    outcome: str | None,
    start_ms: int,
    gaps_ms: tuple[int, ...],
) -> list[RunLogLine]:
    """A run's story as stored lines from `start_ms`, each `rng.choice(gaps_ms)` after the one before."""
    ts_ms, found = start_ms, []
    for seq, event in enumerate(run_story(rng, count, outcome)):
        ts_ms += rng.choice(gaps_ms)
        found.append(
            lines.build(
                run_id=run.run_id,
                experiment_id=run.experiment_id,
                tenant_id=run.tenant_id,
                ts_ms=ts_ms,
                tiebreak=lines.seq_tiebreak(seq),
                severity=event.severity,
                component=event.component,
                message=event.message,
                fields=event.fields,
            )
        )
    return found
