"""DynamoDB stops with requests in flight: a 503 page, a JSON 503, then recovery without restarting
the web tier, and nothing lost or half-written.

The test runs its own DynamoDB Local on disk (-sharedDb -dbPath), so data survives the restart,
points every model at it and back afterwards.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.test import Client

from dashboard.accounts import services
from dashboard.accounts.access import scope_for_user
from dashboard.apikeys import services as api_keys
from dashboard.audit.models import AuditEvent
from dashboard.dynamo import base, local
from dashboard.dynamo.tables import ensure_tables
from dashboard.marketplace.models import AgentTemplate
from tests.conftest import PASSWORD, client_for, unique, wait_for
from tests.marketplace.conftest import DEFINITION

WRITERS = 4


@pytest.fixture
def own_dynamodb(tmp_path, dynamodb_local):
    """A DynamoDB Local of this test's own; yields (start, stop) and restores the suite's afterwards."""
    port = local.free_port()
    data_dir = tmp_path / "data"
    log_path = tmp_path / "dynamodb.log"
    saved = settings.DYNAMODB_ENDPOINT_URL
    process = {"now": local.start(port, data_dir=data_dir, log_path=log_path)}
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{port}"
    base.reconfigure()
    for _name, _done in ensure_tables():
        pass

    def stop() -> None:
        local.stop_process(process["now"])

    def start() -> None:
        process["now"] = local.start(port, data_dir=data_dir, log_path=log_path)

    try:
        yield start, stop
    finally:
        local.stop_process(process["now"])
        settings.DYNAMODB_ENDPOINT_URL = saved
        base.reconfigure()


def test_dynamodb_stopping_gives_503s_then_recovers_with_nothing_lost(own_dynamodb):
    start, stop = own_dynamodb
    tenant_id = unique("f").replace("_", "-")[:30]
    services.create_tenant(tenant_id, "Fault tenant")
    admin = services.create_user(f"admin@{tenant_id}.test", PASSWORD, "tenant_admin", tenant_id)
    staff = services.create_user(f"staff-{tenant_id}@diatonic.test", PASSWORD, "staff")
    token = api_keys.create_key(scope_for_user(staff), tenant_id, "fault writer").token
    page_client = client_for(admin)

    answers: list[tuple[str, int]] = []  # (template name, status)
    answered = threading.Condition()  # notified on each answer: the test waits on counts, not on time
    done = threading.Event()

    def count(status: int) -> int:
        return sum(1 for _, answer in answers if answer == status)

    def wait_until(enough) -> None:
        with answered:
            answered.wait_for(enough, timeout=max(0.0, deadline - time.monotonic()))

    def writer(number: int) -> None:
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        sequence = 0
        while not done.is_set():
            name = f"fault {number} {sequence}"
            sequence += 1
            body = {"name": name, "category": "engineering", "definition": DEFINITION}
            response = api.post("/api/templates", json.dumps(body), content_type="application/json")
            with answered:
                answers.append((name, response.status_code))
                answered.notify_all()
            if response.status_code == 503:
                assert response.json()["error"]["code"] == "unavailable"

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        futures = [pool.submit(writer, number) for number in range(WRITERS)]
        deadline = time.monotonic() + 60
        try:
            wait_until(lambda: count(201) >= 10)
            stop()
            page = page_client.get("/templates/")
            api_down = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/me")
            wait_until(lambda: count(503) >= WRITERS)
            start()

            # The same process, no restart: it answers again once its connections reconnect.
            def page_back():
                answer = page_client.get("/templates/")
                return answer if answer.status_code == 200 else None

            recovered = wait_for(
                page_back,
                timeout=max(0.0, deadline - time.monotonic()),
                every=0.2,
                message="the templates page never answered again after DynamoDB came back",
            )
            after = len(answers)
            wait_until(lambda: len(answers) >= after + WRITERS * 2)
        finally:
            done.set()  # the writers stop whatever happened above
        for future in futures:
            future.result()

    assert page.status_code == 503 and b"Temporarily unavailable" in page.content
    assert api_down.status_code == 503 and api_down.json()["error"]["code"] == "unavailable"
    assert recovered is not None and recovered.status_code == 200
    statuses = {status for _, status in answers}
    assert statuses <= {201, 503}, statuses
    assert 503 in statuses and answers[-1][1] == 201

    stored = {t.name: t for t in AgentTemplate.by_tenant.query(tenant_id)}
    created_events = {
        e.target_id
        for e in AuditEvent.query(tenant_id, consistent_read=True)
        if e.action == "template.create"
    }
    for name, status in answers:
        if status == 201:
            assert name in stored, f"{name} answered 201 but is not there"
    # No half-writes: every template has its audit event and every event its template.
    assert {t.template_id for t in stored.values()} == created_events
    for template in stored.values():
        assert AgentTemplate.get(template.template_id, consistent_read=True).definition["nodes"]
