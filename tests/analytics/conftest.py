"""Fixtures of the analytics area: tenants of their own, API keys, runs to post, raw recomputation."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client

from dashboard.accounts import services as accounts
from dashboard.accounts.models import User
from dashboard.analytics import rollups
from dashboard.analytics.models import Execution, ExecutionRollup
from dashboard.apikeys.services import create_key
from dashboard.core import clock
from dashboard.core.clock import iso_ms
from dashboard.core.ids import new_id
from dashboard.core.scope import STAFF, TENANT_ADMIN, AccessScope
from tests.conftest import client_for

STAFF_SCOPE = AccessScope(role=STAFF, actor_id="usr_test_staff", actor_label="staff@test", tenant_id=None)


def slug(prefix: str) -> str:
    return f"{prefix}-{new_id('x')[-10:]}"


@dataclass
class TenantKit:
    """A tenant made for one test, so its totals are exactly what the test recorded."""

    tenant_id: str
    admin: User
    client: Client  # signed in as its tenant admin
    token: str  # API key

    @property
    def scope(self) -> AccessScope:
        return AccessScope(TENANT_ADMIN, self.admin.user_id, self.admin.email, self.tenant_id)

    def post(self, agent_id: str, body) -> tuple[int, dict]:
        response = Client().post(
            f"/api/agents/{agent_id}/runs",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.token}",
        )
        return response.status_code, response.json()

    def get(self, url: str, **params) -> tuple[int, dict]:
        response = Client().get(url, params, HTTP_AUTHORIZATION=f"Bearer {self.token}")
        return response.status_code, response.json()


def make_tenant(people, name: str = "Test tenant") -> TenantKit:
    tenant_id = slug("t")
    accounts.create_tenant(tenant_id, name)
    admin = accounts.create_user(f"admin@{tenant_id}.test", "correct-horse-battery", TENANT_ADMIN, tenant_id)
    token = create_key(STAFF_SCOPE, tenant_id, "agent runner").token
    return TenantKit(tenant_id, admin, client_for(admin), token)


@pytest.fixture
def tenant(people) -> TenantKit:
    return make_tenant(people)


@pytest.fixture
def tenant_factory(people) -> Callable[..., TenantKit]:
    return lambda name="Test tenant": make_tenant(people, name)


@pytest.fixture
def acme_token(people) -> str:
    return create_key(STAFF_SCOPE, "acme", "acme runner").token


@pytest.fixture
def globex_token(people) -> str:
    return create_key(STAFF_SCOPE, "globex", "globex runner").token


def run(execution_id: str | None = None, ago: timedelta | None = None, **fields) -> dict:
    """A valid run body, started `ago` before now: by default earlier today (an hour ago, or half the
    time since midnight in the day's first two hours, so a run of "today" is today whenever the suite
    runs)."""
    now = clock.now()
    if ago is None:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        ago = min(timedelta(hours=1), (now - midnight) / 2)
    started = now - ago
    body = {
        "execution_id": execution_id or new_id("exe"),
        "user_id": "user-1",
        "model": "gpt-4o-mini",
        "status": "succeeded",
        "started_at": iso_ms(started),
        "duration_ms": 1200,
        "tokens_in": 1000,
        "tokens_out": 500,
        "input": "Hello",
        "output": "Hi there",
    }
    body.update(fields)
    return body


def raw_executions(tenant_id: str) -> list[Execution]:
    return list(Execution.by_tenant.query(tenant_id))


def rollup_partitions(tenant_id: str) -> set[str]:
    """Every partition of the tenant's counter rows its executions can touch: the daily and hourly
    ones, and each ranked bucket (environment sub-scopes included) of each of its executions."""
    partitions = {rollups.pk(tenant_id, dimension) for dimension in rollups.DAILY_DIMENSIONS}
    partitions |= {rollups.hourly_pk(tenant_id, dimension) for dimension in rollups.HOURLY_DIMENSIONS}
    for execution in raw_executions(tenant_id):
        partitions |= {pk for pk, _ in rollups.keys_for(execution)}
    return {pk for pk in partitions if pk.startswith((f"{tenant_id}#", f"{tenant_id}@"))}


def stored_rollups(tenant_id: str) -> dict[tuple[str, str], dict]:
    """Every counter row of the tenant, daily and hourly shards folded into one row; hourly rows past
    their expiry are left out, as readers do.

    Read by partition (`rollup_partitions`: every row of each, so a row counted twice or a stray value
    in one shows): a scan of the whole table, which holds every other test's rows too, took seconds a
    call by the middle of the suite. A row in a partition none of its executions reaches is not seen."""
    stored: dict[tuple[str, str], rollups.Totals] = {}
    now = clock.now()
    rows = (row for pk in sorted(rollup_partitions(tenant_id)) for row in ExecutionRollup.query(pk))
    for row in rows:
        if row.sk == "guard" or "#import#" in row.pk or "#batch#" in row.pk:
            continue
        if rollups.is_hourly(row.pk) and (row.expires_at is None or row.expires_at <= now):
            continue
        key = (row.pk, row.sk) if rollups.is_ranked(row.pk) else (row.pk, "#".join(rollups.split_sk(row.sk)))
        stored.setdefault(key, rollups.Totals()).add_row(row)
    return {key: totals.as_dict() for key, totals in stored.items()}


def recomputed_rollups(tenant_id: str) -> dict[tuple[str, str], dict]:
    """The rows the tenant's executions make, hourly ones for the hours still kept."""
    accumulator = rollups.Accumulator(rollups.live_hours_from(clock.now())).add_all(raw_executions(tenant_id))
    return {key: totals.as_dict() for key, totals in accumulator.rows.items()}


def recomputed_top(executions, dimension, start, end, k=10):
    """Top `k` of start…end by cost (ties by name) straight from raw executions: (value, cost, runs)."""
    sums: dict[str, list[int]] = {}
    for execution in executions:
        if start.isoformat() <= execution.started_at[:10] <= end.isoformat():
            value = getattr(execution, f"{dimension}_id" if dimension != "model" else "model")
            entry = sums.setdefault(value, [0, 0])
            entry[0] += int(execution.cost_micro_usd)
            entry[1] += 1
    ordered = sorted(sums.items(), key=lambda item: (-item[1][0], item[0]))[:k]
    return [(value, cost, runs) for value, (cost, runs) in ordered]
