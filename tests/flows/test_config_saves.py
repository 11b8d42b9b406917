"""Versioned saves of a node configuration, below the pages: races and atomic audit."""

import pytest

from dashboard.accounts.access import scope_for_user
from dashboard.audit.models import AuditEvent
from dashboard.core.errors import Conflict
from dashboard.flows import queries, services
from dashboard.flows.models import NodeConfig

CONFIG = {"expression": "x > 1"}


def _events_for(flow_id: str) -> list:
    return [
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=50)
        if e.target_id.startswith(flow_id)
    ]


def test_a_save_that_raced_past_the_version_check_is_refused_and_leaves_no_audit(
    people, acme_flow, monkeypatch
):
    scope = scope_for_user(people["admin of acme"])
    node_id = acme_flow.node_id("condition")
    stale = queries.get_node_state(scope, acme_flow.flow_id, node_id)  # read before the other save
    services.save_node_config(scope, acme_flow.flow_id, node_id, CONFIG, 0)
    monkeypatch.setattr(queries, "get_node_state", lambda *args, **kwargs: stale)
    with pytest.raises(Conflict, match="Someone else saved this node's configuration first"):
        services.save_node_config(scope, acme_flow.flow_id, node_id, {"expression": "late"}, 0)
    item = NodeConfig.get(acme_flow.flow_id, node_id, consistent_read=True)
    assert item.config == CONFIG and item.version == 1
    assert len(_events_for(acme_flow.flow_id)) == 1


def test_a_stale_version_is_refused_before_writing(people, acme_flow):
    scope = scope_for_user(people["admin of acme"])
    node_id = acme_flow.node_id("condition")
    services.save_node_config(scope, acme_flow.flow_id, node_id, CONFIG, 0)
    services.save_node_config(scope, acme_flow.flow_id, node_id, {"expression": "y"}, 1)
    with pytest.raises(Conflict):
        services.save_node_config(scope, acme_flow.flow_id, node_id, {"expression": "z"}, 1)
    assert NodeConfig.get(acme_flow.flow_id, node_id).config == {"expression": "y"}


def test_an_api_save_is_audited_under_the_keys_name(client, acme_flow, api_tokens):
    import json

    client.put(
        acme_flow.api_url("condition"),
        json.dumps({"version": 0, "config": CONFIG}),
        content_type="application/json",
        HTTP_AUTHORIZATION=api_tokens["acme"],
    )
    event = _events_for(acme_flow.flow_id)[0]
    assert event.action == "node_config.save" and "flows tests acme" in event.actor_label
    assert event.changes == {"version": "1", "expression": '"output.confidence > 0.5" → "x > 1"'}
