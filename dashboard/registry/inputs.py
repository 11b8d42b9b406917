"""What registering a model or a version needs, said once: the pydantic models here are the JSON
API's document and its check (`api/registry.py`), the page forms' check (`clean_model`,
`clean_version` take the form's cleaned values) and what the services consume."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WrapValidator, field_validator
from pydantic_core import PydanticCustomError

from dashboard.core.errors import ValidationFailed
from dashboard.core.inputs import PATTERN_MESSAGES, Strict, error_fields, text_problem
from dashboard.registry import version_numbers
from dashboard.registry.approvals import MAX_EXPIRY_HOURS, REQUESTER_ROLES
from dashboard.registry.models import ENVIRONMENTS

FRAMEWORKS = ("pytorch", "tensorflow", "scikit-learn", "xgboost", "lightgbm", "onnx", "transformers", "other")
TASKS = ("classification", "regression", "ranking", "generation", "embedding", "detection", "other")
MAX_METRICS = 40
MAX_PARAMETERS_BYTES = 16_000
METRIC_NAME = r"^[A-Za-z][A-Za-z0-9_.\-/@]{0,63}$"
URI = r"^[a-z][a-z0-9+.\-]*://\S+$"
# An experiment's or a run's id as the experiments area gives it (ids become key parts: no #).
RUN_ID = r"^[^#]*$"
PATTERN_MESSAGES[METRIC_NAME] = "Not a metric name (letters, digits, _ . - / @; start with a letter)."
PATTERN_MESSAGES[URI] = "Use a URI with a scheme, e.g. s3://models/churn/1.4.0/model.tar.gz."
PATTERN_MESSAGES[RUN_ID] = "Use the id the experiment gave it (no #)."

MetricName = Annotated[str, Field(pattern=METRIC_NAME)]
# A finite number; whole numbers stay whole (a metric of 12 reads 12 on the page, not 12.0).
MetricValue = Annotated[
    float,
    Field(allow_inf_nan=False),
    WrapValidator(lambda value, check: value if type(value) is int else check(value)),
]
RunRef = Annotated[str, Field(max_length=80, pattern=RUN_ID)]


class VersionIn(Strict):
    """A model version: the API's body (with `RegisterIn`'s fields), the register forms' values."""

    # Other keys are left alone (a form's own fields, a newer client's), text is taken trimmed.
    model_config = ConfigDict(strict=True, extra="allow", str_strip_whitespace=True)
    version: str = Field(
        min_length=1,
        max_length=64,
        examples=["1.4.0"],
        description="A semantic version (1.4.0, 2.0.0-rc.1) or an integer (7).",
    )
    framework: Literal[FRAMEWORKS]  # type: ignore[valid-type]
    artifact_uri: str = Field(max_length=500, pattern=URI, examples=["s3://models/churn/1.4.0/model.tar.gz"])
    dataset_id: str | None = Field(default=None, max_length=80)
    experiment_id: RunRef | None = Field(
        default=None, description="With `run_id`: the experiment run that produced the version."
    )
    run_id: RunRef | None = Field(
        default=None,
        description="The run that produced the version; without `metrics`, the run's final metrics are used.",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description=f"At most {MAX_PARAMETERS_BYTES // 1000} kB of JSON."
    )
    metrics: dict[MetricName, MetricValue] = Field(
        default_factory=dict,
        max_length=MAX_METRICS,
        description="Name → a finite number.",
        examples=[{"auc": 0.91}],
    )

    @field_validator("dataset_id", "experiment_id", "run_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("parameters", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("version", "artifact_uri", "dataset_id", "experiment_id", "run_id")
    @classmethod
    def _storable_text(cls, value: str | None) -> str | None:
        problem = text_problem(value) if value else None
        if problem:
            raise PydanticCustomError("text", problem)
        return value

    @field_validator("version")
    @classmethod
    def _version_number(cls, value: str) -> str:
        try:
            version_numbers.scheme_of(value)
        except ValidationFailed as exc:
            raise PydanticCustomError("version", exc.fields["version"]) from None
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters_fit(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > MAX_PARAMETERS_BYTES:
            raise PydanticCustomError(
                "too_large", f"Parameters take at most {MAX_PARAMETERS_BYTES // 1000} kB of JSON."
            )
        return value


ModelName = Annotated[str, Field(min_length=1, max_length=80)]
ProjectId = Annotated[str, Field(min_length=1, max_length=80)]
Task = Literal[TASKS]  # type: ignore[valid-type]
Description = Annotated[str, Field(max_length=1000)]


class ModelIn(Strict):
    """A new model's own fields (its first version is a `VersionIn`)."""

    model_config = ConfigDict(strict=True, extra="ignore", str_strip_whitespace=True)
    name: ModelName
    project_id: ProjectId
    task: Task = "other"
    description: Description = ""

    @field_validator("task", mode="before")
    @classmethod
    def _blank_task(cls, value: Any) -> Any:
        return "other" if value in (None, "") else value


class RegisterIn(VersionIn):
    """A new model with its first version, or (with `model_id`) a new version of that model."""

    model_id: str | None = Field(
        default=None, max_length=200, description="Set: add a version to this model."
    )
    name: ModelName | None = Field(default=None, description="Required for a new model.")
    project_id: ProjectId | None = Field(default=None, description="Required for a new model.")
    task: Task | None = None
    description: Description = ""


def _fields_need_attention(errors: dict[str, str]) -> ValidationFailed:
    return ValidationFailed("Some fields need attention: " + ", ".join(sorted(errors)) + ".", errors)


def _checked(model: type[BaseModel], data: Mapping[str, Any] | BaseModel) -> Any:
    """`data` as `model`: a model the API's edge validated already is taken as it is."""
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump(exclude_none=True)
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise _fields_need_attention(error_fields(exc)) from None


def clean_version(data: Mapping[str, Any] | VersionIn) -> VersionIn:
    """The version a form or an API body describes, or ValidationFailed naming every bad field."""
    version = _checked(VersionIn, data)
    if bool(version.experiment_id) != bool(version.run_id):
        missing = "run_id" if version.experiment_id else "experiment_id"
        raise _fields_need_attention({missing: "Name the run by its experiment id and its run id, both."})
    return version


def clean_model(data: Mapping[str, Any] | RegisterIn) -> ModelIn:
    """A new model's fields from a form or an API body, or ValidationFailed naming every bad field."""
    return _checked(ModelIn, data)


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
