from __future__ import annotations

import math
from typing import Any

from django import forms

from dashboard.core.errors import DashboardError
from dashboard.core.inputs import clean_json_text
from dashboard.registry.approvals import MAX_EXPIRY_HOURS
from dashboard.registry.inputs import FRAMEWORKS, TASKS
from dashboard.registry.models import ENVIRONMENTS
from dashboard.registry.queries import LIST_STATUSES

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
    run = forms.ChoiceField(
        label="Produced by run",
        required=False,
        help_text="The experiment run that trained it; “Use the run’s metrics” fills the metrics from its final values.",
    )
    parameters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"learning_rate": 0.001, "epochs": 20}'}),
        help_text="Training parameters as a JSON object (optional).",
    )
    metrics = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), help_text=METRICS_HELP
    )

    def __init__(self, *args, datasets=(), runs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset_id"].choices = [("", "— none —")] + [(d.dataset_id, d.name) for d in datasets]
        choices = [(f"{experiment_id}/{run_id}", label) for experiment_id, run_id, label in runs]
        chosen = (self.data.get("run") if self.is_bound else self.initial.get("run")) or ""
        if chosen and chosen not in dict(choices):
            choices.append((chosen, chosen))  # a run linked from its page, older than the latest ones
        self.fields["run"].choices = [("", "— none —")] + choices

    def clean(self):
        cleaned = super().clean()
        run = cleaned.get("run") or ""
        experiment_id, _sep, run_id = run.partition("/")
        cleaned["experiment_id"], cleaned["run_id"] = experiment_id or None, run_id or None
        return cleaned

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

    field_order = ["name", "project_id", "task", "description", "version", "framework", "artifact_uri", "run"]

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project_id"].choices = [(p.project_id, p.name) for p in projects]
        self.fields["version"].initial = "1.0.0"


def metric_lines(metrics: dict[str, Any]) -> str:
    """Metrics as the form's “name = number” lines (the inverse of `parse_metric_lines`)."""
    return "\n".join(f"{name} = {value}" for name, value in metrics.items())


class AliasForm(forms.Form):
    alias = forms.CharField(
        max_length=40, widget=forms.TextInput(attrs={"placeholder": "champion", "list": "alias-names"})
    )
    version = forms.ChoiceField()
    reason = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "why (required for a protected alias)"}),
    )

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [(v, v) for v in versions]


class FilterForm(forms.Form):
    project = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status")] + [(s, s.replace("_", " ")) for s in LIST_STATUSES]
    )

    def __init__(self, *args, projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "All projects")] + [(p.project_id, p.name) for p in projects]


class PolicyForm(forms.Form):
    """What a tenant protects: a change to these becomes a request another person approves."""

    protected_environments = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(env, env) for env in ENVIRONMENTS],
        label="Protected environments",
    )
    protected_aliases = forms.CharField(
        required=False,
        max_length=900,
        label="Protected aliases",
        help_text="Alias names separated by commas, e.g. champion, production-candidate.",
    )
    requesters = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[("tenant_admin", "tenant admins"), ("api", "API keys (pipelines)")],
        label="Who may ask to change them (staff always may)",
    )
    expiry_hours = forms.IntegerField(
        min_value=1, max_value=MAX_EXPIRY_HOURS, label="A request expires after (hours)"
    )
