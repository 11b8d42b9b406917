"""Schemathesis, the property-based API tester, over every operation of the served document.

A live server on DynamoDB Local, a real API key of a fresh tenant that owns one of everything (a project,
an experiment and a run, a template, a flow with nodes, a registered model), and all of schemathesis'
checks on every operation, the OTLP receivers included: server errors, response schemas, declared
statuses, content types and headers, negative data rejected, positive data accepted, stateful links.
The few exceptions are named below with their reasons (ALSO_ACCEPTED, CHECKS_OFF). Any finding fails
the test (and CI).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests
from django.test import Client

from dashboard.core import clock
from dashboard.flows.models import Project
from tests.analytics.conftest import make_tenant, run
from tests.conftest import unique
from tests.marketplace.conftest import DEFINITION
from tests.tools import tool

# Generated cases per operation and phase: 30 keeps the whole test near three to four minutes on two
# idle cores (measured: 172 s and 224 s; 433 s with other work loading the machine).
MAX_EXAMPLES = 30
# What schema-valid data may get anywhere: 2xx, or 404 for an id the document cannot know (a body's
# `project_id`, a path id schemathesis made up, a template it deleted a moment ago). Never 5xx, never
# 401, never 403 but for the price writes below, never 429 (the session's keys have no rate limit).
POSITIVE_STATUSES = ["2xx", "404"]
# The OTLP receivers decode with protobuf's JSON parser, as the OTLP specification asks of them.
OTLP_LENIENT = (
    "protobuf's JSON parser takes more than the document states (a string where an AnyValue object "
    "belongs is ignored, a float for an enum), and receivers must ignore what they do not know"
)
# Statuses some operations may also give schema-valid data, each for a rule the document does not state:
# most cannot be stated in JSON Schema (an id that must exist, a signed cursor, a rule across fields or
# over stored state); the reason says where one could still be. An operation not listed here must accept
# everything its document allows.
ALSO_ACCEPTED: dict[tuple[str, str], tuple[list[str], str]] = {
    ("GET", "/api/templates"): (["422"], "`cursor` must be one we signed"),
    ("POST", "/api/templates"): (
        ["422"],
        "a definition's edges must join its own nodes, ids unique, no cycle (not yet stated, but could "
        "be: a definition holds only `nodes` and `edges`, each of known keys and node types)",
    ),
    ("PUT", "/api/templates/{template_id}"): (
        ["409", "422"],
        "`version` must be the current one; the definition's graph rules as on POST",
    ),
    ("DELETE", "/api/templates/{template_id}"): (["409"], "`version` must be the current one"),
    ("POST", "/api/templates/{template_id}/use"): (
        ["422"],
        "`project_id` must be a project of the tenant; `inputs` must fill the template's own inputs",
    ),
    ("GET", "/api/models/registry"): (["422"], "`cursor` must be one we signed"),
    ("GET", "/api/models/approvals"): (["422"], "`cursor` must be one we signed"),
    ("GET", "/api/experiments/{experiment_id}/runs/{run_id}/logs/volume"): (
        ["422"],
        "`from`/`to` must be real moments (epoch milliseconds or an ISO-8601 time), `to` not before `from`",
    ),
    ("POST", "/api/models/registry"): (
        ["409", "422"],
        "`name` and `project_id` are needed unless `model_id` names a model; a version exists once; "
        "`run_id` must be a run of `experiment_id`",
    ),
    ("PUT", "/api/models/{model_id}/deploy"): (
        ["403", "409", "422"],
        "only staff change production (a tenant's key gets 403); the move must be allowed from the "
        "version's state; a deploy names its environment",
    ),
    ("PUT", "/api/models/{model_id}/aliases/{alias}"): (
        ["409", "422"],
        "the version must exist, not retired (not yet stated, but could be: the alias in the path is "
        "a letter, then lower-case letters, digits, _ or -; the server strips spaces first)",
    ),
    # Prices are the platform's, for every tenant at once, and a change starts re-pricing: the fuzzer
    # calls these with the tenant's key (403 before the body is read), so it cannot change the prices
    # the rest of the session computes with. tests/api/test_prices_api.py drives them with the prices key.
    ("POST", "/api/prices"): (["403"], "the tenant's key may not set prices"),
    ("PUT", "/api/prices/{price_id}"): (["403"], "the tenant's key may not set prices"),
    ("DELETE", "/api/prices/{price_id}"): (["403"], "the tenant's key may not set prices"),
    ("GET", "/api/agents/{agent_id}/runs"): (["422"], "`cursor` must be one we signed; `start` ≤ `end`"),
    ("POST", "/api/agents/{agent_id}/runs"): (
        ["422"],
        "times not in the future, `finished_at` after `started_at`, execution ids unique in a batch "
        "(not yet stated, but could be: times are ISO-8601; `date-time` alone is not what Python parses)",
    ),
    ("GET", "/api/analytics/execution"): (["422"], "`start` and `end` come together, `start` ≤ `end`"),
    ("GET", "/api/experiments"): (["422"], "`cursor` must be one we signed"),
    ("POST", "/api/experiments"): (["409", "422"], "`project_id` must be a project of the tenant"),
    ("GET", "/api/experiments/{experiment_id}/logs"): (["422"], "`cursor` must be one we signed"),
    ("POST", "/api/experiments/{experiment_id}/logs"): (["422"], "`run_id` must be a run of this experiment"),
    ("POST", "/api/experiments/{experiment_id}/runs"): (["409"], "a run id is started once"),
    ("POST", "/api/experiments/{experiment_id}/runs/{run_id}"): (["409"], "a run finishes once"),
    ("GET", "/api/experiments/{experiment_id}/runs/{run_id}/logs"): (
        ["422"],
        "`after` must be a position we gave",
    ),
    ("POST", "/api/experiments/{experiment_id}/runs/{run_id}/metrics"): (
        ["409"],
        "a finished run takes no points",
    ),
    ("PUT", "/api/flows/{flow_id}/nodes/{node_id}/config"): (
        ["409", "422"],
        "`version` must be the current one; the config must fit the node's own type",
    ),
    ("POST", "/api/nodes/types/{node_type}/validate"): (
        ["422"],
        "the config must fit the node type in the path",
    ),
    ("POST", "/api/alerts/rules"): (
        ["422"],
        "rules across fields (a warning under the critical level, p95 latency of a named subject or each model, "
        "each agent or user for cost only, a kind's own fields) and at most 50 rules a tenant",
    ),
    ("PUT", "/api/alerts/rules/{rule_id}"): (
        ["409", "422"],
        "`version` must be the current one; the rules across fields as on POST",
    ),
    ("DELETE", "/api/alerts/rules/{rule_id}"): (["409"], "`version` must be the current one"),
}
# Checks switched off for some operations, and why. Every other check runs on every operation.
CHECKS_OFF: dict[tuple[str, str], tuple[list[str], str]] = {
    **{
        operation: (["negative_data_rejection"], OTLP_LENIENT)
        for operation in (("POST", "/api/otel/v1/traces"), ("POST", "/api/otel/v1/logs"))
    },
    # Seen with seed 14: a stateful scenario's `DELETE /api/templates/{id}` answered 204, and later
    # calls with that id from another branch of the scenario (a 404, rightly: the request log showed the
    # DELETE first) were taken for a template lost after creation; schemathesis looks for the DELETE
    # only along the later call's own branch.
    **{
        operation: (
            ["ensure_resource_availability"],
            "a template deleted in another branch of the stateful scenario is rightly not found",
        )
        for operation in (
            ("GET", "/api/templates/{template_id}"),
            ("PUT", "/api/templates/{template_id}"),
            ("POST", "/api/templates/{template_id}/use"),
        )
    },
    # Seen with seed 14 (alerts only): the same for alert rules, a rule deleted in another branch.
    **{
        operation: (
            ["ensure_resource_availability"],
            "an alert rule deleted in another branch of the stateful scenario is rightly not found",
        )
        for operation in (("GET", "/api/alerts/rules/{rule_id}"), ("PUT", "/api/alerts/rules/{rule_id}"))
    },
}


def _post(base: str, token: str, path: str, body: dict) -> dict:
    response = requests.post(base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def fuzzed_tenant(people, web_server) -> dict[str, str]:
    return make_fuzzed_tenant(people, web_server)


def make_fuzzed_tenant(people, web_server: str) -> dict[str, str]:
    """A tenant with one of everything, made through the API itself; the ids schemathesis uses in paths."""
    kit = make_tenant(people, "Fuzzed tenant")
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id=kit.tenant_id, name="Fuzz", created_at=now, updated_at=now
    )
    project.save()
    token = kit.token
    experiment = _post(
        web_server, token, "/api/experiments", {"project_id": project.project_id, "name": "fz"}
    )
    experiment_run = _post(
        web_server, token, f"/api/experiments/{experiment['experiment_id']}/runs", {"name": "r"}
    )
    template = _post(
        web_server,
        token,
        "/api/templates",
        {"name": "fuzz tpl", "category": "engineering", "visibility": "private", "definition": DEFINITION},
    )
    flow = _post(
        web_server, token, f"/api/templates/{template['id']}/use", {"project_id": project.project_id}
    )
    model = _post(
        web_server,
        token,
        "/api/models/registry",
        {
            "name": "fuzz",
            "project_id": project.project_id,
            "version": "1.0.0",
            "framework": "pytorch",
            "artifact_uri": "s3://models/fuzz/1.0.0/model.tar.gz",
        },
    )
    _post(web_server, token, "/api/agents/fuzz-agent/runs", run())
    rule = _post(
        web_server,
        token,
        "/api/alerts/rules",
        {"name": "fuzz", "kind": "metric", "metric": "cost", "window": "day", "warning": 1_000_000},
    )
    return {
        "token": token,
        "experiment_id": experiment["experiment_id"],
        "run_id": experiment_run["run_id"],
        "template_id": template["id"],
        "flow_id": flow["flow_id"],
        "node_id": DEFINITION["nodes"][2]["id"],
        "model_id": model["model"]["model_id"],
        "agent_id": "fuzz-agent",
        "rule_id": rule["rule_id"],
    }


def _config(tmp_path: Path, ids: dict[str, str], document: dict) -> Path:
    lines = ["[parameters]"]
    lines += [f'"path.{name}" = {json.dumps(value)}' for name, value in ids.items() if name != "token"]
    # Every check (what `--checks all` says; on the command line it would override the few CHECKS_OFF).
    lines += ["", "[checks]", "enabled = true"]
    lines += ["", "[checks.positive_data_acceptance]", f"expected-statuses = {json.dumps(POSITIVE_STATUSES)}"]
    # One block per operation: schemathesis applies the first block that matches an operation.
    settings: dict[tuple[str, str], list[str]] = {}
    for operation, (statuses, _why) in ALSO_ACCEPTED.items():
        expected = json.dumps(POSITIVE_STATUSES + statuses)
        settings.setdefault(operation, []).append(
            f"checks.positive_data_acceptance.expected-statuses = {expected}"
        )
    for operation, (checks, _why) in CHECKS_OFF.items():
        settings.setdefault(operation, []).extend(f"checks.{check}.enabled = false" for check in checks)
    for (method, path), lines_of_operation in settings.items():
        operation_id = document["paths"][path][method.lower()]["operationId"]
        lines += [
            "",
            "[[operations]]",
            f"include-operation-id = {json.dumps(operation_id)}",
            *lines_of_operation,
        ]
    path = tmp_path / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _served_document(tmp_path: Path) -> tuple[Path, dict]:
    """The document exactly as served, every operation included (the OTLP receivers too)."""
    content = Client().get("/api/openapi.json").content
    path = tmp_path / "openapi.json"
    path.write_bytes(content)
    return path, json.loads(content)


def test_schemathesis_finds_nothing_in_any_operation(web_server, fuzzed_tenant, tmp_path):
    document_path, document = _served_document(tmp_path)
    operations = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    assert len(operations) >= 37
    assert {("POST", "/api/otel/v1/traces"), ("POST", "/api/otel/v1/logs")} <= operations
    assert set(ALSO_ACCEPTED) | set(CHECKS_OFF) <= operations, "an exception names an operation that is gone"
    command = [
        tool("schemathesis"),
        "--no-color",
        "--config-file",
        str(_config(tmp_path, fuzzed_tenant, document)),
        "run",
        str(document_path),
        "--url",
        web_server,
        "-H",
        f"Authorization: Bearer {fuzzed_tenant['token']}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--request-timeout",
        "30",
        "--seed",
        "14",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    # About 3 minutes on an idle 2-core machine, 7 when other work loads it to 15: a generous bound, so
    # a busy machine is not mistaken for a finding.
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    findings = result.stdout.partition("FAILURES")[2] or result.stdout[-5000:]
    assert result.returncode == 0, findings[:30000] + result.stderr[-3000:]
