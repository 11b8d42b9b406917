"""The node type catalogue: each type's schema, defaults, and the JSON-path error list."""

import pytest
from jsonschema import Draft202012Validator

from dashboard.core.errors import NotFound
from dashboard.flows.demo import BREAKAGES, CONFIGS
from dashboard.flows.node_schemas import NODE_TYPES, SCHEMAS, UI
from dashboard.flows.node_types import SECRET_MASK, all_node_types, get_node_type

VALID = {
    "llm": {
        "provider": "anthropic",
        "model": "claude-3-5-haiku",
        "temperature": 0,
        "max_tokens": 500,
        "stop": ["END"],
    },
    "prompt": {"role": "system", "template": "Hi {{name}}", "variables": ["name"]},
    "tool": {
        "name": "send_mail",
        "timeout_seconds": 5,
        "auth": {"scheme": "bearer", "token": "secret-token-1"},
    },
    "http_request": {
        "method": "POST",
        "url": "https://x.example/api",
        "timeout_seconds": 10,
        "headers": ["X-Id: 1"],
    },
    "retriever": {"index": "docs", "top_k": 3, "min_score": 0.9, "filters": ["lang=de"]},
    "condition": {"expression": "output.ok == true"},
    "code": {
        "language": "javascript",
        "source": "return 1",
        "memory_mb": 512,
        "packages": ["lodash==4.17.21"],
    },
    "output": {
        "format": "json",
        "webhook_url": "https://hooks.example/x",
        "webhook_secret": "0123456789abcdef",
    },
}
INVALID = {
    "llm": (
        {"provider": "openai", "model": "gpt-4o", "temperature": 2.5, "max_tokens": 10},
        "$.temperature",
        "Must be at most 2.",
    ),
    "prompt": (
        {"role": "user", "template": "x", "variables": ["ok", "9lives"]},
        "$.variables[1]",
        "letters, digits and underscores",
    ),
    "tool": ({"name": "Send Mail", "timeout_seconds": 5}, "$.name", "lower-case letters"),
    "http_request": (
        {"method": "GET", "url": "https://x.example", "timeout_seconds": 0},
        "$.timeout_seconds",
        "Must be at least 1.",
    ),
    "retriever": ({"index": "docs", "top_k": "five"}, "$.top_k", "Must be a whole number."),
    "condition": ({"expression": ""}, "$.expression", "Must not be empty."),
    "code": ({"language": "ruby", "source": "puts 1"}, "$.language", "Choose one of: python, javascript."),
    "output": ({"format": "text", "webhook_url": "http://insecure.example"}, "$.webhook_url", "https://"),
}


def test_the_catalogue_has_every_node_type_the_issue_names():
    assert set(NODE_TYPES) >= {
        "llm",
        "prompt",
        "tool",
        "http_request",
        "retriever",
        "condition",
        "code",
        "output",
    }
    assert isinstance(NODE_TYPES, tuple) and set(UI) == set(SCHEMAS) == set(NODE_TYPES)


@pytest.mark.parametrize("name", NODE_TYPES)
def test_each_schema_is_a_valid_draft_2020_12_schema(name):
    schema = SCHEMAS[name]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", NODE_TYPES)
def test_each_type_accepts_a_valid_example(name):
    assert get_node_type(name).validate(VALID[name]) == []


@pytest.mark.parametrize("name", NODE_TYPES)
def test_each_type_rejects_an_invalid_example_at_the_right_path(name):
    config, path, message = INVALID[name]
    errors = get_node_type(name).validate(config)
    assert [error.path for error in errors] == [path]
    assert message in errors[0].message


@pytest.mark.parametrize("name", NODE_TYPES)
def test_each_types_defaults_are_valid_and_fill_every_required_setting(name):
    node_type = get_node_type(name)
    defaults = node_type.defaults()
    assert node_type.validate(defaults) == []
    assert set(SCHEMAS[name]["required"]) <= set(defaults)


def test_defaults_come_from_the_schema_including_nested_objects():
    defaults = get_node_type("llm").defaults()
    assert defaults["temperature"] == 0.7 and defaults["max_tokens"] == 1024
    assert defaults["retry"] == {"max_attempts": 2, "backoff_seconds": 1.0}
    assert "api_key" not in defaults  # secrets never have a default


def test_changing_returned_defaults_does_not_change_the_catalogue():
    get_node_type("prompt").defaults()["variables"].append("oops")
    assert get_node_type("prompt").defaults()["variables"] == ["question"]


def test_errors_list_every_problem_with_its_json_path_in_form_order():
    config = {
        "provider": "mistral",
        "temperature": -1,
        "max_tokens": 1.5,
        "stop": ["a", "", "c", "d", "e"],
        "retry": {"backoff_seconds": 99},
        "colour": "blue",
    }
    errors = [error.as_dict() for error in get_node_type("llm").validate(config)]
    assert errors == [
        {"path": "$.colour", "message": "Not a setting of this node type."},
        {"path": "$.provider", "message": "Choose one of: openai, anthropic, bedrock, azure_openai."},
        {"path": "$.model", "message": "This setting is required."},
        {"path": "$.temperature", "message": "Must be at least 0."},
        {"path": "$.max_tokens", "message": "Must be a whole number."},
        {"path": "$.stop", "message": "Give at most 4 items."},
        {"path": "$.stop[1]", "message": "Must not be empty."},
        {"path": "$.retry.max_attempts", "message": "This setting is required."},
        {"path": "$.retry.backoff_seconds", "message": "Must be at most 60."},
    ]


def test_a_config_that_is_not_an_object_is_one_error_at_the_root():
    errors = get_node_type("output").validate(["markdown"])
    assert [error.as_dict() for error in errors] == [{"path": "$", "message": "Must be an object."}]


def test_odd_property_names_are_quoted_in_the_path():
    errors = get_node_type("output").validate({"format": "text", "my key": 1})
    assert errors[0].path == "$['my key']"


def test_an_unknown_node_type_is_not_found_with_the_known_ones_listed():
    with pytest.raises(NotFound) as caught:
        get_node_type("teleport")
    assert "teleport" in caught.value.message and "http_request" in caught.value.message


def test_the_ui_metadata_orders_fields_labels_them_and_marks_secrets():
    fields = {spec.name: spec for spec in get_node_type("http_request").fields()}
    assert list(fields)[:3] == ["method", "url", "headers"]
    assert fields["url"].label == "URL" and fields["url"].placeholder.startswith("https://")
    assert fields["auth.token"].secret and fields["auth.token"].widget == "password"
    assert fields["auth.token"].group == "Authentication"
    assert fields["method"].widget == "select" and fields["follow_redirects"].widget == "checkbox"
    assert fields["headers"].widget == "lines" and fields["timeout_seconds"].widget == "number"
    assert all(spec.label and spec.name for node_type in all_node_types() for spec in node_type.fields())


def test_secrets_are_masked_and_a_masked_secret_keeps_the_stored_value():
    tool = get_node_type("tool")
    stored = {"name": "x", "timeout_seconds": 5, "auth": {"scheme": "bearer", "token": "real-secret-123"}}
    masked = tool.mask_secrets(stored)
    assert masked["auth"]["token"] == SECRET_MASK and "real-secret-123" not in str(masked)
    assert tool.keep_secrets(masked, stored)["auth"]["token"] == "real-secret-123"
    assert "token" not in tool.keep_secrets(masked, None)["auth"]


@pytest.mark.parametrize("name", NODE_TYPES)
def test_the_demo_configs_are_valid_and_the_demo_breakages_are_not(name):
    node_type = get_node_type(name)
    assert all(node_type.validate(config) == [] for config in CONFIGS[name])
    key, value = BREAKAGES[name]
    assert node_type.validate({**CONFIGS[name][0], key: value}) != []
