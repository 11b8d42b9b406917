"""The flow-definition checks on their own (no database): what a person sees for each mistake."""

import pytest

from dashboard.flows.definition import MAX_EDGES, MAX_NODES, layers, layout, validate


def nodes(count: int) -> list[dict]:
    return [{"id": f"n{i}", "type": "llm"} for i in range(count)]


def test_a_valid_definition_gets_edge_ids_filled_in():
    definition, errors = validate({"nodes": nodes(2), "edges": [{"source": "n0", "target": "n1"}]})
    assert errors == {} and definition["edges"][0]["id"] == "e1"


@pytest.mark.parametrize(
    ("definition", "field", "text"),
    [
        (
            {"nodes": [{"id": "a", "type": "warp"}], "edges": []},
            "definition.nodes[0].type",
            "not a known node type",
        ),
        ({"nodes": [{"type": "llm"}], "edges": []}, "definition.nodes[0]", "'id' is required"),
        ({"nodes": [{"id": "a b", "type": "llm"}], "edges": []}, "definition.nodes[0].id", "letters, digits"),
        (
            {"nodes": nodes(2) + [{"id": "n1", "type": "code"}], "edges": []},
            "definition.nodes[2].id",
            "duplicate node id",
        ),
        (
            {"nodes": nodes(2), "edges": [{"source": "n0", "target": "x"}]},
            "definition.edges[0].target",
            "no node has the id “x”",
        ),
        (
            {"nodes": nodes(2), "edges": [{"source": "n0", "target": "n0"}]},
            "definition.edges[0].target",
            "itself",
        ),
        (
            {
                "nodes": nodes(2),
                "edges": [
                    {"id": "e", "source": "n0", "target": "n1"},
                    {"id": "e", "source": "n1", "target": "n0"},
                ],
            },
            "definition.edges[1].id",
            "duplicate edge id",
        ),
        ({"nodes": [], "edges": []}, "definition.nodes", "at least one node"),
        ({"nodes": nodes(MAX_NODES + 1), "edges": []}, "definition.nodes", f"at most {MAX_NODES}"),
        (
            {"nodes": nodes(2), "edges": [{"source": "n0", "target": "n1"}] * (MAX_EDGES + 1)},
            "definition.edges",
            f"at most {MAX_EDGES}",
        ),
        ({"nodes": nodes(1)}, "definition", "'edges' is required"),
        ([1, 2], "definition", "is not of type 'object'"),
        ("{oops", "definition", "Not valid JSON"),
        ("", "definition", "Paste the flow"),
    ],
)
def test_each_mistake_is_named_on_its_field(definition, field, text):
    result, errors = validate(definition)
    assert result is None
    assert text in errors[field], errors


def test_layers_follow_the_longest_path_and_survive_cycles():
    definition = {
        "nodes": nodes(4),
        "edges": [
            {"id": "a", "source": "n0", "target": "n1"},
            {"id": "b", "source": "n1", "target": "n2"},
            {"id": "c", "source": "n0", "target": "n2"},
            {"id": "d", "source": "n3", "target": "n3x"},
        ],
    }
    assert layers(definition) == {"n0": 0, "n1": 1, "n2": 2, "n3": 0}
    cyclic = {
        "nodes": nodes(2),
        "edges": [{"id": "a", "source": "n0", "target": "n1"}, {"id": "b", "source": "n1", "target": "n0"}],
    }
    placed = layout(cyclic)
    assert len(placed.nodes) == 2 and len(placed.edges) == 2 and placed.width > 0
