"""What registering a model or a version needs, checked once for the pages and the JSON API."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from dashboard.core.errors import ValidationFailed
from dashboard.core.inputs import text_field
from dashboard.registry import version_numbers
from dashboard.registry.approvals import MAX_EXPIRY_HOURS, REQUESTER_ROLES
from dashboard.registry.models import ENVIRONMENTS

FRAMEWORKS = ("pytorch", "tensorflow", "scikit-learn", "xgboost", "lightgbm", "onnx", "transformers", "other")
TASKS = ("classification", "regression", "ranking", "generation", "embedding", "detection", "other")
MAX_METRICS = 40
MAX_PARAMETERS_BYTES = 16_000
_METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/@]{0,63}$")
_URI = re.compile(r"^[a-z][a-z0-9+.\-]*://\S+$")


@dataclass
class ModelInput:
    name: str
    project_id: str
    task: str = "other"
    description: str = ""


@dataclass
class VersionInput:
    version: str
    framework: str
    artifact_uri: str
    dataset_id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    experiment_id: str | None = None  # with run_id: the experiment run that produced the version
    run_id: str | None = None


def clean_metrics(raw: Any) -> tuple[dict[str, float], str | None]:
    """Metric values must be finite numbers; returns (metrics, error)."""
    if raw in (None, ""):
        return {}, None
    if not isinstance(raw, dict):
        return {}, "Metrics are an object of name → number."
    if len(raw) > MAX_METRICS:
        return {}, f"At most {MAX_METRICS} metrics."
    metrics: dict[str, float] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _METRIC_NAME.match(name):
            return {}, f"“{name}” is not a metric name (letters, digits, _ . - / @; start with a letter)."
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return {}, f"The value of “{name}” must be a number, not {json.dumps(value)}."
        metrics[name] = value
    return metrics, None


def clean_version(data: dict) -> VersionInput:
    errors: dict[str, str] = {}
    version = text_field(data, "version", errors, max_length=64)
    if version and "version" not in errors:
        try:
            version_numbers.scheme_of(version)
        except ValidationFailed as exc:
            errors["version"] = exc.fields["version"]
    framework = text_field(data, "framework", errors, max_length=40)
    if framework and framework not in FRAMEWORKS:
        errors["framework"] = f"Use one of: {', '.join(FRAMEWORKS)}."
    artifact_uri = text_field(data, "artifact_uri", errors, max_length=500)
    if artifact_uri and not _URI.match(artifact_uri):
        errors["artifact_uri"] = "Use a URI with a scheme, e.g. s3://models/churn/1.4.0/model.tar.gz."
    dataset_id = text_field(data, "dataset_id", errors, required=False, max_length=80) or None
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        errors["parameters"] = "Parameters are a JSON object."
        parameters = {}
    elif len(json.dumps(parameters)) > MAX_PARAMETERS_BYTES:
        errors["parameters"] = f"Parameters take at most {MAX_PARAMETERS_BYTES // 1000} kB of JSON."
    metrics, metrics_error = clean_metrics(data.get("metrics"))
    if metrics_error:
        errors["metrics"] = metrics_error
    experiment_id = text_field(data, "experiment_id", errors, required=False, max_length=80) or None
    run_id = text_field(data, "run_id", errors, required=False, max_length=80) or None
    for name, value in (("experiment_id", experiment_id), ("run_id", run_id)):
        if value and "#" in value:
            errors[name] = "Use the id the experiment gave it (no #)."
    if bool(experiment_id) != bool(run_id) and not errors.keys() & {"experiment_id", "run_id"}:
        errors["run_id" if experiment_id else "experiment_id"] = (
            "Name the run by its experiment id and its run id, both."
        )
    if errors:
        raise ValidationFailed("Some fields need attention: " + ", ".join(sorted(errors)) + ".", errors)
    return VersionInput(
        version, framework, artifact_uri, dataset_id, parameters, metrics, experiment_id, run_id
    )


ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_ALIASES = 20


def clean_alias(name: Any) -> str:
    """An alias name: lower-case letters, digits, _ and -, starting with a letter (at most 40)."""
    if not isinstance(name, str) or not ALIAS.match(name.strip()):
        raise ValidationFailed(
            "An alias is a short lower-case name such as champion or challenger.",
            {"alias": "a letter, then lower-case letters, digits, _ or - (at most 40)"},
        )
    return name.strip()


def clean_model(data: dict) -> ModelInput:
    errors: dict[str, str] = {}
    name = text_field(data, "name", errors, max_length=80)
    project_id = text_field(data, "project_id", errors, max_length=80)
    task = text_field(data, "task", errors, required=False, max_length=40) or "other"
    if task not in TASKS:
        errors["task"] = f"Use one of: {', '.join(TASKS)}."
    description = text_field(data, "description", errors, required=False, max_length=1000)
    if errors:
        raise ValidationFailed("Some fields need attention: " + ", ".join(sorted(errors)) + ".", errors)
    return ModelInput(name, project_id, task, description)


@dataclass
class PolicyInput:
    protected_environments: list[str]
    protected_aliases: list[str]
    requesters: list[str]
    expiry_hours: int


def clean_policy(data: dict) -> PolicyInput:
    """Protected environments and aliases, who may ask (besides staff) and the expiry, as a form or
    the API sends them: lists, or aliases as one text separated by commas or spaces."""
    errors: dict[str, str] = {}

    def names(key: str) -> list[str]:
        raw = data.get(key) or []
        if isinstance(raw, str):
            raw = raw.replace(",", " ").split()
        if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
            errors[key] = "A list of names."
            return []
        return sorted({item.strip() for item in raw if item.strip()})

    environments = names("protected_environments")
    if any(env not in ENVIRONMENTS for env in environments):
        errors["protected_environments"] = f"Use some of: {', '.join(ENVIRONMENTS)}."
    aliases = names("protected_aliases")
    if len(aliases) > MAX_ALIASES:
        errors["protected_aliases"] = f"At most {MAX_ALIASES} aliases."
    elif any(not ALIAS.match(alias) for alias in aliases):
        errors["protected_aliases"] = "Alias names: a letter, then lower-case letters, digits, _ or -."
    requesters = names("requesters")
    if any(role not in REQUESTER_ROLES for role in requesters):
        errors["requesters"] = f"Use some of: {', '.join(REQUESTER_ROLES)}."
    raw_hours = data.get("expiry_hours", 72)
    try:
        hours = int(str(raw_hours).strip()) if not isinstance(raw_hours, bool) else -1
    except ValueError:
        hours = -1
    if not 1 <= hours <= MAX_EXPIRY_HOURS:
        errors["expiry_hours"] = f"A whole number of hours from 1 to {MAX_EXPIRY_HOURS}."
    if errors:
        raise ValidationFailed("Some fields need attention: " + ", ".join(sorted(errors)) + ".", errors)
    return PolicyInput(environments, aliases, requesters, hours)
