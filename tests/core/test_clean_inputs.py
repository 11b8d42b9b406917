"""The pure input cleaning every entry point shares (dashboard/core/inputs.py)."""

from __future__ import annotations

import json

import pytest

from dashboard.core.csv_cells import safe_cell
from dashboard.core.errors import ValidationFailed
from dashboard.core.inputs import (
    MAX_DEPTH,
    BadRequest,
    PayloadTooLarge,
    check_json_value,
    clean_json_text,
    json_depth,
    parse_limit,
)


def test_nesting_is_refused_before_parsing_even_far_beyond_the_recursion_limit():
    with pytest.raises(BadRequest) as caught:
        clean_json_text("[" * 100_000)
    assert caught.value.status == 400 and "nests" in caught.value.message


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"a": "[[[[{{{{" * 100, "b": ['"]]]\\"']})
    assert json_depth(text) == 2
    assert clean_json_text(text)["b"] == ['"]]]\\"']


def test_a_document_exactly_at_the_depth_limit_is_accepted():
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert clean_json_text(text) is not None
    with pytest.raises(BadRequest):
        clean_json_text("[" + text + "]")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant):
    with pytest.raises(ValidationFailed) as caught:
        clean_json_text(f'{{"temperature": {constant}}}')
    assert caught.value.status == 422


def test_a_lone_surrogate_is_named_by_its_path():
    text = json.dumps({"runs": [{}, {}, {}, {"tokens_in": "\ud800"}]})
    with pytest.raises(ValidationFailed) as caught:
        clean_json_text(text)
    assert caught.value.status == 422
    assert list(caught.value.fields) == ["runs[3].tokens_in"]


def test_nul_in_a_key_is_named_and_the_path_stays_printable():
    errors = check_json_value({"definition": {"nodes": [{}, {}, {"config": {"head\x00ers": "x"}}]}})
    (path,) = errors
    assert path == "definition.nodes[2].config.head\x00ers".encode("utf-8", "backslashreplace").decode()
    assert "key" in errors[path]


def test_a_top_level_string_field_is_named_plainly():
    assert check_json_value({"name": "rt \ud800 tpl"}) == {
        "name": "must be valid Unicode (it holds a lone surrogate)."
    }


def test_a_field_name_prefixes_paths_for_json_in_a_form():
    with pytest.raises(ValidationFailed) as caught:
        clean_json_text('{"nodes": [{"label": "\\u0000"}]}', field="definition")
    assert list(caught.value.fields) == ["definition.nodes[0].label"]


def test_size_is_bounded_before_parsing():
    with pytest.raises(PayloadTooLarge) as caught:
        clean_json_text(b'"' + b"x" * 2000 + b'"', max_bytes=1000)
    assert caught.value.status == 413


def test_invalid_utf8_is_a_bad_request():
    with pytest.raises(BadRequest):
        clean_json_text(b'{"name": "\xed\xa0\x80"}')


@pytest.mark.parametrize("raw", ["²", "٣", "0", "-1", "101", "1e2", " 5", "5 ", "9999999"])
def test_a_limit_must_be_ascii_digits_in_range(raw):
    with pytest.raises(ValidationFailed) as caught:
        parse_limit(raw, 25, 100)
    assert caught.value.fields == {"limit": "1–100"}


def test_a_valid_limit_and_a_missing_one():
    assert (
        parse_limit("7", 25, 100) == 7 and parse_limit(None, 25, 100) == 25 and parse_limit("", 25, 100) == 25
    )


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_would_run_as_formulas_are_quoted(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-12.5", "+3", "Acme", "", 5, -5.5, None])
def test_csv_numbers_and_plain_text_stay_as_they_are(cell):
    assert safe_cell(cell) == cell
