"""/api/openapi.json: a valid OpenAPI 3.1 document that covers every URL of the API."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from openapi_spec_validator import OpenAPIV31SpecValidator

from dashboard.api import openapi

ERRORS = {"400", "401", "405", "429"}


@pytest.fixture(scope="module")
def document(dynamodb_local) -> dict:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


def _documented(route: str) -> str:
    return "/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_the_served_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_url_of_the_api_is_in_it_with_each_method_it_answers(document):
    own = {"openapi.json", "docs"}  # the document and its page describe the API; they are not part of it
    routes = [(route, view) for route, view in openapi.api_routes() if route not in own]
    assert len(routes) >= 20
    for route, view in routes:
        path = _documented(route)
        assert path in document["paths"], path
        methods = {method.upper() for method in document["paths"][path]}
        assert methods == set(view.operations), path


def test_every_operation_is_secured_and_declares_its_errors_and_rate_headers(document):
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            assert operation["security"] == [{"bearer": []}], where
            assert set(operation["responses"]) >= ERRORS, where
            assert "Retry-After" in operation["responses"]["429"]["headers"], where
            ok = next(status for status in operation["responses"] if status.startswith("2"))
            assert "X-RateLimit-Remaining" in operation["responses"][ok]["headers"], where
            if "requestBody" in operation:
                assert {"413", "415"} <= set(operation["responses"]), where
                media = operation["requestBody"]["content"].values()
                assert any("example" in one for one in media), where


def test_errors_share_one_schema_and_lists_are_paged_by_next_cursor(document):
    schemas = document["components"]["schemas"]
    assert schemas["Error"]["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "fields"}
    runs = document["paths"]["/api/agents/{agent_id}/runs"]
    assert runs["post"]["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    for page in ("RunsPage", "TemplatePage", "ModelPage", "ExperimentPage", "LinePage"):
        assert "next_cursor" in schemas[page]["properties"], page
    assert "cursor" in {p["name"] for p in runs["get"]["parameters"]}


def test_client_chosen_ids_are_described_as_idempotent(document):
    schemas = document["components"]["schemas"]
    for schema, field in [
        ("RunIn", "execution_id"),
        ("ExperimentIn", "experiment_id"),
        ("RunStart", "run_id"),
        ("LineIn", "seq"),
    ]:
        description = schemas[schema]["properties"][field]["description"]
        assert "Client-chosen" in description and ("idempotent" in description or "once" in description), (
            schema
        )


def test_the_otlp_receivers_take_protobuf_or_json(document):
    for signal in ("traces", "logs"):
        operation = document["paths"][f"/api/otel/v1/{signal}"]["post"]
        assert set(operation["requestBody"]["content"]) == {"application/x-protobuf", "application/json"}
        assert {"200", "400", "401", "413", "415", "429", "503"} <= set(operation["responses"])
