"""A tour of every main page as each role, over the demo data, for the whole-site browser checks.

The demo seeders fill tables of their own (prefix `tour`), so every page has believable content —
charts with points, runs with logs, flows with configured nodes — without meeting the test tenants.
Detail pages are reached the way a person reaches them: by the first link of their list page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO

from django.conf import settings
from django.core.management import call_command

from dashboard.accounts.models import User
from dashboard.accounts.queries import find_user_by_email
from dashboard.dynamo import base

PREFIX = "tour"
SMALL = ["--seed", "5", "--executions", "600", "--templates", "14", "--models", "2", "--log-lines", "60"]
_seeded = False


@contextmanager
def demo_tables() -> Iterator[None]:
    """Point every model at the demo tables (seeded once per test session), then back."""
    global _seeded
    real = settings.DYNAMODB_TABLE_PREFIX
    settings.DYNAMODB_TABLE_PREFIX = PREFIX
    base.reconfigure()
    try:
        if not _seeded:
            call_command("seed_demo", *SMALL, "--quiet", stdout=StringIO())
            _seeded = True
        yield
    finally:
        settings.DYNAMODB_TABLE_PREFIX = real
        base.reconfigure()


def demo_people() -> dict[str, User]:
    return {
        "staff": find_user_by_email("staff@diatonic.test"),
        "tenant admin": find_user_by_email("ada@acme.test"),
        "moderator": find_user_by_email("moderator@diatonic.test"),
    }


@dataclass(frozen=True)
class Stop:
    name: str
    path: str | None = None  # a fixed address, or
    via: str | None = None  # the name of an earlier stop whose page links here,
    link: str | None = None  # through the first link matching this CSS selector


STOPS = [
    Stop("overview", "/"),
    Stop("cost analytics", "/analytics/"),
    Stop("cost analytics: production", "/analytics/?environment=production"),
    Stop("cost analytics: a tag", "/analytics/?tag=beta"),
    Stop("metadata dimensions", "/analytics/dimensions/"),
    Stop("executions", "/analytics/executions/"),
    Stop("execution", via="executions", link="#executions-table tbody a[href*='/analytics/executions/']"),
    Stop("session", via="executions", link="#executions-table tbody a[href*='/analytics/sessions/']"),
    Stop("person", via="executions", link="#executions-table tbody a[href*='/analytics/people/']"),
    Stop("templates", "/templates/"),
    Stop("template", via="templates", link="#template-list a.tpl-name"),
    Stop("new template", "/templates/new/"),
    Stop("moderation", "/templates/moderation/"),
    Stop("moderation: listed", "/templates/moderation/?tab=listed"),
    Stop("moderation: unpublish", via="moderation: listed", link="#queue a[href*='/unpublish/']"),
    Stop("models", "/models/"),
    Stop("model", via="models", link="#models tbody a[href^='/models/']"),
    Stop("model: confirm a change", via="model", link="#versions a[href*='/confirm/']"),
    Stop("register a model", "/models/register/"),
    Stop("datasets", "/datasets/"),
    Stop("dataset", via="datasets", link="#datasets tbody a[href^='/datasets/']"),
    Stop("experiments", "/experiments/"),
    Stop("experiment", via="experiments", link="#experiment-list .experiment-head a"),
    Stop("run logs", via="experiment", link="#runs tbody a[href*='/logs/']"),
    Stop("log line", via="run logs", link="#log-lines a.log-link"),
    Stop("compare runs", via="experiment", link="#compare-link"),
    Stop("flows", "/flows/"),
    Stop("flow", via="flows", link="#flows tbody a[href^='/flows/']"),
    Stop("node config", via="flow", link="#nodes a[href*='/nodes/']"),
    Stop("save flow as template", via="flow", link="#flow-reuse a[href$='/template/']"),
    Stop("node types", "/flows/node-types/"),
    Stop("audit trail", "/account/audit/"),
    Stop("users", "/account/users/"),
    Stop("user", via="users", link="main tbody a[href^='/account/users/']"),
    Stop("user: disable", via="users", link="main tbody a[href$='/active/']"),
    Stop("api keys", "/account/api-keys/"),
    Stop("tables", "/account/tables/"),
    Stop("prices", "/analytics/prices/?model=gpt-4o-mini-2024-07-18"),
    Stop("my account", "/account/me/"),
    Stop("second factor", "/account/me/two-factor/"),
    Stop("invitations", "/account/invitations/"),
    Stop("sign-in policy", "/account/sign-in-policy/"),
    Stop("models timeline", "/models/timeline/"),
    Stop("approvals", "/models/approvals/"),
    Stop("governance", "/models/governance/"),
    Stop("alert rules", "/analytics/alerts/"),
    Stop("notifications", "/analytics/alerts/notifications/"),
    Stop("operations", "/account/operations/"),
    Stop("export and erase", "/account/operations/erase/"),
]

# What each role can open (staff works inside one tenant, acme, as they do to see its details).
ROLE_STOPS = {
    "staff": [stop.name for stop in STOPS],
    "tenant admin": [
        stop.name
        for stop in STOPS
        if not stop.name.startswith(
            ("moderation", "users", "user", "api keys", "tables", "prices", "sign-in", "operations", "export")
        )
    ],
    "moderator": [
        "overview",
        "templates",
        "template",
        "moderation",
        "moderation: listed",
        "moderation: unpublish",
        "my account",
        "second factor",
    ],
}
# Pages that look different for staff who have not picked a tenant yet.
UNFOCUSED_STOPS = [
    "overview",
    "cost analytics",
    "executions",
    "templates",
    "models",
    "datasets",
    "experiments",
    "flows",
]


def session_extra(role: str) -> dict:
    from dashboard.accounts.access import TENANT_FOCUS_KEY

    return {TENANT_FOCUS_KEY: "acme"} if role == "staff" else {}


def tour(page, names: list[str]) -> Iterator[Stop]:
    """Open each named stop in turn (list pages before the details they link to); yields after each load."""
    wanted = set(names)
    hrefs: dict[str, str] = {}
    by_name = {stop.name: stop for stop in STOPS}
    current = None
    for stop in STOPS:
        if stop.name not in wanted:
            continue
        path = stop.path
        if path is None:
            if current != stop.via:  # the link is on the via page: open it again if another is open
                page.goto(hrefs.get(stop.via) or by_name[stop.via].path)
            path = page.locator(stop.link).first.get_attribute("href")
            assert path, f"{stop.name}: no link {stop.link} on {stop.via}"
        response = page.goto(path)
        assert response is not None and response.status == 200, (
            f"{stop.name} ({path}) answered {response.status}"
        )
        hrefs[stop.name] = path
        current = stop.name
        yield stop
