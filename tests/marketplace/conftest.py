"""Marketplace fixtures: scopes of the named people, templates in a chosen state, projects, API keys."""

from __future__ import annotations

import copy
import re
import secrets
from datetime import timedelta

import pytest
from django.test import Client

from dashboard.accounts.access import scope_for_user
from dashboard.apikeys import services as api_keys
from dashboard.core import clock
from dashboard.flows.models import Flow, Project
from dashboard.marketplace import services
from tests.analytics.conftest import make_tenant, run
from tests.conftest import unique

DEFINITION = {
    "nodes": [
        {"id": "n1", "type": "prompt", "label": "Question"},
        {"id": "n2", "type": "retriever", "label": "Find passages"},
        {"id": "n3", "type": "llm", "label": "Answer"},
        {"id": "n4", "type": "output", "label": "Reply"},
    ],
    "edges": [
        {"id": "e1", "source": "n1", "target": "n2"},
        {"id": "e2", "source": "n2", "target": "n3"},
        {"id": "e3", "source": "n3", "target": "n4"},
    ],
}


def word() -> str:
    """A made-up word no other test uses, to find one test's templates among everyone's.

    Random hex, not a ULID's tail: two ULIDs made in the same millisecond differ only in their last
    character, so one word would be a search prefix of the next (a 3-letter prefix finds a word)."""
    return "w" + secrets.token_hex(5)


@pytest.fixture
def scopes(people):
    return {
        "acme": scope_for_user(people["admin of acme"]),
        "globex": scope_for_user(people["admin of globex"]),
        "moderator": scope_for_user(people["moderator"]),
        "staff": scope_for_user(people["staff"]),
        "staff in acme": scope_for_user(people["staff"], "acme"),
    }


@pytest.fixture
def make_template(scopes):
    """`make_template("acme", state="approved", name=..., ...)` through the services, like a person would."""

    def make(owner: str = "acme", state: str = "draft", **fields):
        data = {
            "name": fields.pop("name", f"Support triage {word()}"),
            "description": fields.pop("description", "Answers customer questions from the knowledge base."),
            "category": fields.pop("category", "customer-support"),
            "tags": fields.pop("tags", ["support", "rag"]),
            "visibility": "public" if state in ("pending", "approved", "rejected", "featured") else "private",
            "definition": copy.deepcopy(fields.pop("definition", DEFINITION)),
        }
        assert not fields, f"unknown fields {fields}"
        template = services.create_template(scopes[owner], data)
        moderator = scopes["moderator"]
        if state in ("approved", "featured"):
            template = services.moderate(moderator, template.template_id, "approve")
        if state == "featured":
            template = services.moderate(moderator, template.template_id, "feature")
        if state == "rejected":
            template = services.moderate(
                moderator, template.template_id, "reject", reason="Needs a clearer description."
            )
        return template

    return make


@pytest.fixture
def project_of():
    def make(tenant_id: str = "acme") -> Project:
        now = clock.now()
        project = Project(
            project_id=unique("prj"),
            tenant_id=tenant_id,
            name=f"Project {word()}",
            created_at=now,
            updated_at=now,
        )
        project.save()
        return project

    return make


@pytest.fixture
def api_client(scopes):
    """`api_client("acme")`: a client sending a fresh API key of that tenant."""

    def make(tenant_id: str = "acme") -> Client:
        created = api_keys.create_key(scopes["staff"], tenant_id, f"test {word()}")
        return Client(HTTP_AUTHORIZATION=f"Bearer {created.token}")

    return make


# --- what templates cost across tenants (issue #28 §3): flows made from a template, their runs, the figures


def make_flow(tenant_id: str, template_id: str | None) -> str:
    now = clock.now()
    flow = Flow(
        flow_id=unique("flw"),
        project_id=unique("prj"),
        tenant_id=tenant_id,
        name="Made from a template",
        source_template_id=template_id,
        created_at=now,
        updated_at=now,
    )
    flow.save()
    return flow.flow_id


def post(kit, runs: list[dict]) -> None:
    status, body = kit.post("agent-1", {"runs": runs})
    assert status in (200, 201), body


def runs_of(flow_id: str, costs: list[int], failed: int = 0) -> list[dict]:
    return [
        run(
            flow_id=flow_id,
            cost_micro_usd=cost,
            status="failed" if index < failed else "succeeded",
            ago=timedelta(days=1, minutes=index),  # yesterday: the summaries sum whole days before today
        )
        for index, cost in enumerate(costs)
    ]


def card_of(html: str, template_id: str) -> str:
    match = re.search(rf'<article[^>]*data-template-id="{template_id}".*?</article>', html, re.S)
    assert match, "the template's card is on the page"
    return match.group(0)


def figure(html: str, name: str) -> str:
    match = re.search(rf'class="tpl-cost-{name}">([^<]*)<', html)
    assert match, f"the {name} figure is shown"
    return match.group(1)


@pytest.fixture
def used(people, make_template):
    """An approved template and `use(n)`: n fresh tenants each with a flow made from it."""
    template = make_template("acme", state="approved")

    def use(count: int) -> list[tuple]:
        kits = [make_tenant(people) for _ in range(count)]
        return [(kit, make_flow(kit.tenant_id, template.template_id)) for kit in kits]

    return template, use
