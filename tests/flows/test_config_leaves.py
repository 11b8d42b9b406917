"""One flattener of node settings (definition.config_leaves) serves the template diff and the audit
trail; they differ only on an empty settings group, and each keeps what it needs (pure, no DynamoDB)."""

from __future__ import annotations

from dashboard.flows import definition
from dashboard.flows.node_types import get_node_type
from dashboard.flows.services import describe_changes


def test_an_empty_group_is_a_leaf_unless_asked_otherwise():
    config = {"retry": {}, "model": "m", "limits": {"max": {"tokens": 5}}}
    assert definition.config_leaves(config) == {"retry": {}, "model": "m", "limits.max.tokens": 5}
    assert definition.config_leaves(config, empty_groups=False) == {"model": "m", "limits.max.tokens": 5}


def test_the_template_diff_lists_a_group_the_newer_version_empties():
    node = {"id": "n1", "type": "llm", "label": "Answer"}
    before = {"nodes": [{**node, "config": {"retry": {}}}], "edges": []}
    after = {"nodes": [{**node, "config": {}}], "edges": []}
    assert definition.diff(before, after).settings == [("n1", "retry", "{}", "—")]


def test_the_audit_trail_sees_no_change_in_an_emptied_group_the_node_runs_with_its_defaults():
    llm = get_node_type("llm")
    assert describe_changes(llm, {"model": "gpt-4o", "retry": {}}, {"model": "gpt-4o"}, 2) == {"version": "2"}
    assert describe_changes(llm, {"retry": {"max_attempts": 4}}, {"retry": {}}, 3) == {
        "version": "3",
        "retry.max_attempts": "4 → 2",
    }
