"""What bringing a flow to a template's newer definition changes, on its own: in-memory items, no DynamoDB.

The same update through the pages and DynamoDB Local is in test_flow_template.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.core.errors import ValidationFailed
from dashboard.flows.definition import SecretInput, StoredFlow, TemplateUpdate, template_update
from dashboard.flows.models import Flow, FlowEdge, FlowNode, NodeConfig

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LLM = {"provider": "anthropic", "model": "claude-3-5-haiku", "temperature": 0.2, "max_tokens": 500}
PROMPT = {"role": "system", "template": "Hi {{name}}", "variables": ["name"]}
KEY = SecretInput("llm", "api_key")


def stored(configs: dict[str, dict] | None = None) -> StoredFlow:
    """A flow of a prompt feeding an llm, with the llm's own settings (its api key among them)."""
    flow = Flow(flow_id="flw", project_id="prj", tenant_id="acme", name="Mine")
    nodes = [
        FlowNode(flow_id="flw", node_id="prompt", tenant_id="acme", node_type="prompt", label="Ask"),
        FlowNode(flow_id="flw", node_id="llm", tenant_id="acme", node_type="llm", label="Answer"),
    ]
    edges = [FlowEdge(flow_id="flw", edge_id="e1", tenant_id="acme", source="prompt", target="llm", label="")]
    if configs is None:
        configs = {"llm": {**LLM, "temperature": 1.5, "api_key": "sk-mine-0001"}}
    items = {}
    for node_id, config in configs.items():
        items[node_id] = NodeConfig(
            flow_id="flw", node_id=node_id, tenant_id="acme", node_type="llm", config=config
        )
        items[node_id].version = 3
    return StoredFlow(flow, nodes, edges, items)


def template(*extra_nodes: dict, edges: list[dict] | None = None, llm: dict | None = None) -> dict:
    return {
        "nodes": [
            {"id": "prompt", "type": "prompt", "label": "Ask"},
            {"id": "llm", "type": "llm", "label": "Answer", "config": llm or LLM},
            *extra_nodes,
        ],
        "edges": edges if edges is not None else [{"id": "e1", "source": "prompt", "target": "llm"}],
    }


def update(
    current: StoredFlow, definition: dict, *, values=None, take=False, inputs=(KEY,)
) -> TemplateUpdate:
    return template_update(
        current, definition, list(inputs), values or {}, take_template_settings=take, by="ada", at=AT
    )


def keys(items) -> list[tuple[str, str]]:
    return [(type(item).__name__, getattr(item, "node_id", None) or item.edge_id) for item in items]


def test_an_unchanged_flow_keeping_its_own_settings_changes_nothing():
    changes = update(stored(), template())
    assert changes.writes == [] and changes.deletes == []


def test_a_new_node_gets_its_place_its_settings_and_its_edge():
    extra = {"id": "follow", "type": "prompt", "label": "Follow-up", "config": PROMPT}
    edges = [
        {"id": "e1", "source": "prompt", "target": "llm"},
        {"id": "e2", "source": "llm", "target": "follow"},
    ]
    changes = update(stored(), template(extra, edges=edges))
    assert keys(changes.writes) == [("FlowNode", "follow"), ("NodeConfig", "follow"), ("FlowEdge", "e2")]
    node, config, edge = changes.writes
    assert node.label == "Follow-up" and node.position_x > 0  # placed in the column layout's next column
    assert config.config == PROMPT and (config.updated_by, config.updated_at) == ("ada", AT)
    assert config.version is None  # new settings: the write requires that none exist yet
    assert (edge.source, edge.target) == ("llm", "follow")
    assert changes.deletes == []


def test_nodes_and_edges_the_template_dropped_are_deleted_with_their_settings():
    definition = {"nodes": [{"id": "prompt", "type": "prompt", "label": "Ask"}], "edges": []}
    changes = update(stored(), definition, inputs=())
    assert changes.writes == []
    assert keys(changes.deletes) == [("FlowNode", "llm"), ("NodeConfig", "llm"), ("FlowEdge", "e1")]


def test_taking_the_templates_settings_keeps_the_own_secret_and_the_settings_version():
    changes = update(stored(), template(llm={**LLM, "max_tokens": 900}), take=True)
    assert keys(changes.writes) == [("NodeConfig", "llm")]
    taken = changes.writes[0]
    assert taken.config == {**LLM, "max_tokens": 900, "api_key": "sk-mine-0001"}
    assert taken.version == 3  # lands only on the settings the flow was read with


def test_a_secret_supplied_on_the_form_wins_over_the_own_one():
    changes = update(stored(), template(), values={KEY.field_name: " sk-new-0002 "}, take=True)
    assert changes.writes[0].config["api_key"] == "sk-new-0002"


def test_a_secret_nobody_supplies_is_asked_for_and_nothing_is_changed():
    with pytest.raises(ValidationFailed, match="nothing was applied") as refused:
        update(stored(configs={}), template(), take=True)
    assert KEY.field_name in refused.value.fields


def test_settings_that_break_the_node_types_schema_are_refused():
    with pytest.raises(ValidationFailed) as refused:
        update(stored(), template(llm={**LLM, "temperature": 9}), take=True)
    assert any("temperature" in message for message in refused.value.fields.values())


def test_a_node_the_template_leaves_at_its_defaults_loses_its_own_settings_when_taken():
    definition = template()
    del definition["nodes"][1]["config"]
    changes = update(stored(), definition, take=True, inputs=())
    assert changes.writes == [] and keys(changes.deletes) == [("NodeConfig", "llm")]


def test_a_relabelled_node_keeps_its_place_and_a_changed_edge_is_rewritten():
    current = stored()
    current.nodes[0].position_x, current.nodes[0].position_y = 400, 80
    definition = template(edges=[{"id": "e1", "source": "prompt", "target": "llm", "label": "ask"}])
    definition["nodes"][0]["label"] = "Question"
    changes = update(current, definition)
    assert keys(changes.writes) == [("FlowNode", "prompt"), ("FlowEdge", "e1")]
    node, edge = changes.writes
    assert (node.label, node.position_x, node.position_y) == ("Question", 400, 80)
    assert edge.label == "ask"
