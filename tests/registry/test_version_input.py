"""One description of a version: the API's document and check, the forms' check and the services'
input are the same pydantic model (pure: no DynamoDB)."""

from __future__ import annotations

import pytest

from dashboard.api import registry as api
from dashboard.core.errors import ValidationFailed
from dashboard.registry import inputs


def test_the_api_checks_and_documents_the_model_the_service_takes():
    assert api.REGISTRY["POST"].body is inputs.RegisterIn
    assert issubclass(inputs.RegisterIn, inputs.VersionIn)


def test_form_values_become_the_same_model_with_whole_numbers_kept_whole():
    version = inputs.clean_version(
        {
            "version": " 1.4.0 ",
            "framework": "pytorch",
            "artifact_uri": "s3://models/m/1.4.0",
            "dataset_id": "",
            "metrics": {"latency_p95_ms": 12, "auc": 0.91},
            "run": "",  # a form's own field
        }
    )
    assert (version.version, version.dataset_id) == ("1.4.0", None)
    assert version.metrics == {"latency_p95_ms": 12, "auc": 0.91}
    assert type(version.metrics["latency_p95_ms"]) is int


def test_every_bad_field_is_named_in_the_users_words():
    with pytest.raises(ValidationFailed) as refused:
        inputs.clean_version(
            {
                "version": "one",
                "framework": "pytorch",
                "artifact_uri": "not a uri",
                "metrics": {"a b": 1, "f1": True},
                "experiment_id": "e#1",
                "run_id": "r1",
            }
        )
    assert refused.value.fields == {
        "version": "Use a semantic version (1.4.0, 2.0.0-rc.1) or an integer (7).",
        "artifact_uri": "Use a URI with a scheme, e.g. s3://models/churn/1.4.0/model.tar.gz.",
        "metrics.a b": "Not a metric name (letters, digits, _ . - / @; start with a letter).",
        "metrics.f1": "must be a number.",
        "experiment_id": "Use the id the experiment gave it (no #).",
    }
    with pytest.raises(ValidationFailed) as half:
        inputs.clean_version({"version": "2", "framework": "onnx", "artifact_uri": "s3://m", "run_id": "r1"})
    assert list(half.value.fields) == ["experiment_id"]
    with pytest.raises(ValidationFailed) as blank:
        inputs.clean_model({"name": "  ", "project_id": "prj-1"})
    assert blank.value.fields == {"name": "This field is required."}
