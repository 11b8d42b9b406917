"""A sweep over every page and endpoint that takes an id: another tenant's id answers 404, never data.

It runs on the full demo data set (seeded small into tables of its own), so every area's real items
are tried, with a tenant admin's session and with an API key of the other tenant.
"""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from dashboard.accounts.access import scope_for_user
from dashboard.accounts.api_keys import create_key
from dashboard.accounts.models import User
from dashboard.analytics.models import Execution
from dashboard.dynamo import base
from dashboard.flows.models import Flow, FlowNode
from dashboard.logs.models import Experiment, ExperimentRun
from dashboard.marketplace.models import AgentTemplate
from dashboard.registry.models import RegistryVersion
from tests.conftest import client_for


@pytest.fixture(scope="module")
def acme(dynamodb_local):
    real = settings.DYNAMODB_TABLE_PREFIX
    settings.DYNAMODB_TABLE_PREFIX = "iso"
    base.reconfigure()
    call_command(
        "seed_demo",
        "--executions",
        "300",
        "--templates",
        "20",
        "--models",
        "2",
        "--log-lines",
        "30",
        "--quiet",
        stdout=StringIO(),
    )
    template = next(t for t in AgentTemplate.by_tenant.query("acme") if t.listing is None)  # not public
    version = next(iter(RegistryVersion.by_tenant.query("acme", limit=1)))
    execution = next(iter(Execution.by_tenant.query("acme", limit=1)))
    experiment = next(iter(Experiment.by_tenant.query("acme", limit=1)))
    run = next(iter(ExperimentRun.query(experiment.experiment_id, limit=1)))
    flow = next(iter(Flow.by_tenant.query("acme", limit=1)))
    node = next(iter(FlowNode.query(flow.flow_id, limit=1)))
    globex_admin = next(iter(User.by_tenant.query("globex", limit=1)))
    staff = next(iter(User.by_role.query("staff", limit=1)))
    yield {
        "template": template.template_id,
        "model": version.model_id,
        "version": version.version,
        "execution": execution.execution_id,
        "agent": execution.agent_id,
        "experiment": experiment.experiment_id,
        "run": run.run_id,
        "flow": flow.flow_id,
        "node": node.node_id,
        "globex_admin": globex_admin,
        "globex_key": create_key(scope_for_user(staff), "globex", "isolation sweep").token,
    }
    settings.DYNAMODB_TABLE_PREFIX = real
    base.reconfigure()


PAGES = [
    ("get", "/templates/{template}/"),
    ("get", "/templates/{template}/edit/"),
    ("post", "/templates/{template}/edit/"),
    ("post", "/templates/{template}/delete/"),
    ("post", "/templates/{template}/use/"),
    ("post", "/templates/{template}/rate/"),
    ("post", "/templates/{template}/submit/"),
    ("post", "/templates/{template}/withdraw/"),
    ("get", "/models/{model}/"),
    ("get", "/models/{model}/versions/new/"),
    ("post", "/models/{model}/versions/new/"),
    ("post", "/models/{model}/versions/{version}/status/"),
    ("get", "/analytics/executions/{execution}/"),
    ("get", "/experiments/{experiment}/"),
    ("get", "/experiments/{experiment}/card/"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/download/?format=ndjson"),
    ("get", "/flows/{flow}/"),
    ("get", "/flows/{flow}/nodes/{node}/"),
    ("post", "/flows/{flow}/nodes/{node}/"),
]

# Bodies are valid, so tenancy is the only reason left to refuse.
API = [
    ("get", "/api/templates/{template}", None),
    ("put", "/api/templates/{template}", {"name": "Mine now"}),
    ("delete", "/api/templates/{template}", None),
    ("post", "/api/templates/{template}/use", {}),
    ("get", "/api/models/{model}/metrics", None),
    (
        "put",
        "/api/models/{model}/deploy",
        {"version": "{version}", "environment": "dev", "status": "deploying"},
    ),
    ("get", "/api/experiments/{experiment}/logs", None),
    (
        "post",
        "/api/experiments/{experiment}/logs",
        {
            "run_id": "{run}",
            "ts": "2026-11-26T00:00:00Z",
            "severity": "info",
            "component": "x",
            "message": "hi",
        },
    ),
    ("get", "/api/experiments/{experiment}/runs/{run}/logs", None),
    ("get", "/api/flows/{flow}/nodes/{node}/config", None),
    ("put", "/api/flows/{flow}/nodes/{node}/config", {"version": 1, "config": {}}),
]


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_a_tenant_admin_gets_404_for_another_tenants_item(acme, method, url):
    client = client_for(acme["globex_admin"])
    response = getattr(client, method)(url.format(**acme))
    assert response.status_code == 404
    body = response.content.decode()
    for key in ("template", "execution", "run"):
        assert acme[key] not in body


@pytest.mark.parametrize(("method", "url", "body"), API)
def test_an_api_key_gets_404_for_another_tenants_item(acme, method, url, body):
    extra = {}
    if body is not None:
        filled = {
            key: value.format(**acme) if isinstance(value, str) else value for key, value in body.items()
        }
        extra = {"data": json.dumps(filled), "content_type": "application/json"}
    auth = f"Bearer {acme['globex_key']}"
    response = getattr(Client(), method)(url.format(**acme), HTTP_AUTHORIZATION=auth, **extra)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_api_key_never_lists_another_tenants_executions_of_the_same_agent(acme):
    response = Client().get(
        f"/api/agents/{acme['agent']}/runs", HTTP_AUTHORIZATION=f"Bearer {acme['globex_key']}"
    )
    assert response.status_code in (200, 404)
    assert acme["execution"] not in response.content.decode()


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_an_absurd_id_is_a_404_not_a_server_error(acme, method, url):
    absurd = {key: "x" * 3000 if isinstance(value, str) else value for key, value in acme.items()}
    response = getattr(client_for(acme["globex_admin"]), method)(url.format(**absurd))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "url", "body"), API)
def test_an_absurd_id_is_a_json_404_for_the_api(acme, method, url, body):
    absurd = {key: "x" * 3000 if isinstance(value, str) else value for key, value in acme.items()}
    extra = {"data": json.dumps(body or {}), "content_type": "application/json"} if body is not None else {}
    auth = f"Bearer {acme['globex_key']}"
    response = getattr(Client(), method)(url.format(**absurd), HTTP_AUTHORIZATION=auth, **extra)
    assert response.status_code in (404, 422)
