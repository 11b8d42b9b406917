from __future__ import annotations

import math
from typing import Any

from django import forms

from dashboard.core.errors import DashboardError
from dashboard.core.inputs import clean_json_text
from dashboard.registry.inputs import FRAMEWORKS, TASKS
from dashboard.registry.services import LIST_STATUSES

FORM_JSON_MAX_BYTES = 400_000  # what fits one DynamoDB item

METRICS_HELP = "One per line, “name = number”, e.g. accuracy = 0.931 or latency_p95_ms = 42."


def parse_metric_lines(text: str) -> dict[str, Any]:
    """“accuracy = 0.93” lines into a dict; a value that is not a number is an error here."""
    metrics: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.replace(":", "=", 1).partition("=")
        if not sep or not name.strip():
            raise forms.ValidationError(f"Line {number}: write “name = number”.")
        try:
            parsed = float(value.strip())
        except ValueError:
            raise forms.ValidationError(f"Line {number}: “{value.strip()}” is not a number.") from None
        if not math.isfinite(parsed):
            raise forms.ValidationError(f"Line {number}: “{value.strip()}” is not a finite number.")
        metrics[name.strip()] = int(parsed) if parsed.is_integer() and "." not in value else parsed
    return metrics


class VersionForm(forms.Form):
    version = forms.CharField(max_length=64, help_text="A semantic version (1.4.0) or an integer (7).")
    framework = forms.ChoiceField(choices=[(f, f) for f in FRAMEWORKS])
    artifact_uri = forms.CharField(
        label="Artifact URI", max_length=500, widget=forms.TextInput(attrs={"placeholder": "s3://models/…"})
    )
    dataset_id = forms.ChoiceField(label="Dataset", required=False)
    parameters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"learning_rate": 0.001, "epochs": 20}'}),
        help_text="Training parameters as a JSON object (optional).",
    )
    metrics = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), help_text=METRICS_HELP
    )

    def __init__(self, *args, datasets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset_id"].choices = [("", "— none —")] + [(d.dataset_id, d.name) for d in datasets]

    def clean_parameters(self) -> dict:
        text = self.cleaned_data["parameters"].strip()
        if not text:
            return {}
        try:
            value = clean_json_text(text, max_bytes=FORM_JSON_MAX_BYTES, field="parameters")
        except DashboardError as exc:
            raise forms.ValidationError(exc.message) from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Write a JSON object, e.g. {"epochs": 20}.')
        return value

    def clean_metrics(self) -> dict:
        return parse_metric_lines(self.cleaned_data["metrics"])


class ModelForm(VersionForm):
    name = forms.CharField(max_length=80)
    project_id = forms.ChoiceField(label="Project")
    task = forms.ChoiceField(choices=[(t, t) for t in TASKS])
    description = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["name", "project_id", "task", "description", "version", "framework", "artifact_uri"]

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project_id"].choices = [(p.project_id, p.name) for p in projects]
        self.fields["version"].initial = "1.0.0"


class FilterForm(forms.Form):
    project = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status")] + [(s, s.replace("_", " ")) for s in LIST_STATUSES]
    )

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "All projects")] + [(p.project_id, p.name) for p in projects]
