"""Slack, Microsoft Teams and the generic webhook (issue #29, channels): fake receivers on 127.0.0.1,
payloads checked against the formats' published schema (Adaptive Card) or documented structure (Block
Kit), "Send a test" showing the receiver's answer, and the SSRF rules on the new channels."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest

from dashboard.alerts import queries, services, webhooks
from dashboard.alerts.evaluation import run_pass
from dashboard.alerts.inputs import RuleInput
from dashboard.analytics.services import set_budget
from dashboard.core.errors import ValidationFailed
from tests.alerts.conftest import STAFF_SCOPE, Receiver, run, verify

FIXTURES = Path(__file__).parent / "fixtures"
RECENT = timedelta(minutes=5)
PUBLIC = "93.184.216.34"  # plays a public receiver's address


@pytest.fixture
def receivers() -> Iterator[Callable[[int], Receiver]]:
    """receivers(status) starts one more fake receiver on 127.0.0.1 answering `status`."""
    servers = []

    def start(status: int = 200) -> Receiver:
        state = Receiver(url="")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with state.lock:
                    state.received.append({"headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.server_port}/hook"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def adaptive_card_schema() -> dict:
    return json.loads((FIXTURES / "adaptive-card-1.5.json").read_text())


def check_teams(message: dict) -> dict:
    """A Workflows webhook's message: one Adaptive Card attachment, valid against Microsoft's schema."""
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    jsonschema.Draft6Validator(adaptive_card_schema()).validate(card)
    assert card["version"] == "1.4"
    return card


def check_slack(message: dict) -> list[dict]:
    """Block Kit as documented (https://api.slack.com/reference/block-kit/blocks): Slack publishes no
    JSON schema, so its stated types, required fields and limits are checked here."""
    assert isinstance(message["text"], str) and 0 < len(message["text"]) <= 3000  # notification fallback
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "actions", "divider"}
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert (
                    block["text"]["type"] in ("mrkdwn", "plain_text") and len(block["text"]["text"]) <= 3000
                )
            for item in block.get("fields", []):
                assert item["type"] in ("mrkdwn", "plain_text") and len(item["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(e["type"] in ("mrkdwn", "plain_text", "image") for e in block["elements"])
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for button in block["elements"]:
                assert button["type"] == "button"
                assert button["text"]["type"] == "plain_text" and len(button["text"]["text"]) <= 75
                assert button["url"].startswith("http") and len(button["url"]) <= 3000
        assert set(block) <= {"type", "text", "fields", "elements", "block_id", "accessory"}
    return blocks


def cross_budget(tenant) -> None:
    status, body = tenant.post("probe-agent", run(ago=RECENT))
    assert status == 201
    set_budget(STAFF_SCOPE, tenant.tenant_id, body["runs"][0]["cost_micro_usd"] * 2, None)
    services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget", thresholds=(50,)))
    assert tenant.post("agent", run(ago=RECENT))[0] == 201


def test_one_crossing_reaches_slack_teams_and_the_signed_webhook_once_each(tenant, receivers):
    slack, teams, hook = receivers(200), receivers(202), receivers(204)
    channel = services.save_channel(
        tenant.scope, None, hook.url, "", None, slack_url=slack.url, teams_url=teams.url
    )
    cross_budget(tenant)
    run_pass()
    run_pass()  # nothing left to send

    assert [len(r.received) for r in (slack, teams, hook)] == [1, 1, 1]
    blocks = check_slack(json.loads(slack.received[0]["body"]))
    assert "50 % of the budget" in json.dumps(blocks)
    card = check_teams(json.loads(teams.received[0]["body"]))
    assert "50 % of the budget" in json.dumps(card)
    hit = hook.received[0]
    assert verify(channel.webhook_secret, hit["body"], hit["headers"])
    # A budget alert says why too: the month against the previous one, and who spent it.
    drivers = json.loads(hit["body"])["drivers"]
    assert drivers["change"]["executions_now"] == 2 and drivers["change"]["executions_before"] == 0
    assert {(t["dimension"], t["value"]) for t in drivers["top"]} >= {
        ("agent", "agent"),
        ("agent", "probe-agent"),
    }
    assert "*Why*" in json.dumps(blocks) and "from volume" in json.dumps(card)
    firing = queries.recent_firings(tenant.tenant_id)[0]
    assert (firing.slack_state, firing.teams_state, firing.webhook_state) == ("done", "done", "done")
    assert firing.pending is None
    assert {a.channel for a in firing.attempts if a.outcome == "delivered"} >= {"slack", "teams", "webhook"}


def test_during_a_secret_rotation_both_secrets_verify_the_same_delivery(tenant, receivers):
    hook = receivers(204)
    old = services.save_channel(tenant.scope, None, hook.url, "", None).webhook_secret
    new = services.save_channel(tenant.scope, None, hook.url, "", None, new_secret=True).webhook_secret
    assert new != old
    cross_budget(tenant)
    run_pass()
    (hit,) = hook.received
    assert verify(old, hit["body"], hit["headers"]) and verify(new, hit["body"], hit["headers"])
    assert len(hit["headers"]["webhook-signature"].split(" ")) == 2
    assert not verify("whsec_" + "A" * 44, hit["body"], hit["headers"])


def test_a_test_send_shows_the_receivers_answer_in_place(tenant, receivers):
    slack, teams = receivers(200), receivers(500)
    services.save_channel(tenant.scope, None, "", "", None, slack_url=slack.url, teams_url=teams.url)
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "test-result-slack"}

    answer = tenant.client.post("/analytics/alerts/delivery/test/slack", **htmx)
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "delivered" in text and "HTTP 200" in text and "<html" not in text
    check_slack(json.loads(slack.received[0]["body"]))
    assert "[TEST]" in json.loads(slack.received[0]["body"])["text"]

    text = tenant.client.post("/analytics/alerts/delivery/test/teams", **htmx).content.decode()
    assert "failed" in text and "HTTP 500" in text
    check_teams(json.loads(teams.received[0]["body"]))

    text = tenant.client.post("/analytics/alerts/delivery/test/webhook", **htmx).content.decode()
    assert "save an address for this channel first" in text
    assert tenant.client.post("/analytics/alerts/delivery/test/pager", **htmx).status_code == 404
    page = tenant.client.get("/analytics/alerts/").content.decode()
    assert "Send a test to Slack" in page and "Send a test to Microsoft Teams" in page


@pytest.fixture
def production_rules(settings, monkeypatch) -> dict[str, list[str]]:
    """Production's webhook rules over a fake DNS: `dns[name]` answers in turn; a fake public address
    routes to 127.0.0.1 at connect time only when the test says so."""
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    settings.ALERTS_WEBHOOK_HTTPS_ONLY = False
    settings.ALERTS_WEBHOOK_PORTS = ()
    dns: dict[str, list[list[str]]] = {}
    connects: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        answers = dns.get(host, [[]])
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def open_connection(address: str, port: int, timeout: float) -> socket.socket:
        connects.append(address)
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)

    monkeypatch.setattr(webhooks, "resolve", resolve)
    monkeypatch.setattr(webhooks, "open_connection", open_connection)
    return {"dns": dns, "connects": connects}


def test_slack_and_teams_urls_resolving_to_loopback_are_refused_when_saved(tenant, production_rules):
    production_rules["dns"]["hooks.slack.test"] = [["127.0.0.1"]]
    production_rules["dns"]["teams.test"] = [["10.0.0.7", PUBLIC]]
    with pytest.raises(ValidationFailed) as refused:
        services.save_channel(
            tenant.scope,
            None,
            "",
            "",
            None,
            slack_url="http://hooks.slack.test/services/T/B/X",
            teams_url="http://teams.test/workflows/1",
        )
    assert set(refused.value.fields) == {"slack_url", "teams_url"}
    assert "not a public address" in refused.value.fields["slack_url"]
    assert queries.channel(tenant.tenant_id).slack_url == ""  # nothing saved
    assert production_rules["connects"] == []


def test_a_slack_name_that_turns_to_loopback_after_saving_is_refused_at_connect_time(
    tenant, production_rules, receivers
):
    slack = receivers(200)
    port = slack.url.split(":")[2].split("/")[0]
    # Public when saved, 127.0.0.1 when the alert is sent (DNS rebinding).
    production_rules["dns"]["hooks.slack.test"] = [[PUBLIC], ["127.0.0.1"]]
    services.save_channel(
        tenant.scope, None, "", "", None, slack_url=f"http://hooks.slack.test:{port}/services/x"
    )
    cross_budget(tenant)
    run_pass()
    assert slack.received == [] and production_rules["connects"] == []
    firing = queries.recent_firings(tenant.tenant_id)[0]
    assert firing.slack_state == "failed"
    (attempt,) = [a for a in firing.attempts if a.channel == "slack"]
    assert "refused" in attempt.detail and "not a public address" in attempt.detail


def test_the_test_send_connects_only_to_the_address_it_checked(tenant, production_rules, receivers):
    teams = receivers(200)
    port = teams.url.split(":")[2].split("/")[0]
    production_rules["dns"]["teams.test"] = [[PUBLIC]]
    services.save_channel(tenant.scope, None, "", "", None, teams_url=f"http://teams.test:{port}/wf")
    outcome = services.send_test(tenant.scope, None, "teams")
    assert outcome.ok and outcome.status == 200
    assert production_rules["connects"] == [PUBLIC]  # pinned: the checked answer, no second lookup
    assert teams.received[0]["headers"]["Host"] == f"teams.test:{port}"
