"""Marketplace fixtures: scopes of the named people, templates in a chosen state, projects, API keys."""

from __future__ import annotations

import copy
import secrets

import pytest
from django.test import Client

from dashboard.accounts.access import scope_for_user
from dashboard.apikeys import services as api_keys
from dashboard.core import clock
from dashboard.flows.models import Project
from dashboard.marketplace import services
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
