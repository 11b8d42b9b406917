"""In the browser: find a flow, edit a node's configuration with inline validation, save."""

import pytest
from playwright.sync_api import expect

from dashboard.flows.models import NodeConfig
from tests.flows.conftest import build_flow

pytestmark = pytest.mark.browser


def test_an_admin_edits_a_config_sees_an_inline_error_come_and_go_and_saves(page_as, people, tmp_path):
    built = build_flow("acme", name="Browser triage")
    page = page_as(people["admin of acme"])
    page.goto(f"/flows/{built.flow_id}/")
    row = page.locator("tr", has_text="Llm step")
    expect(row.locator(".badge")).to_have_text("default")
    row.get_by_role("link", name="Configure").click()
    page.wait_for_url(f"**{built.config_url('llm')}")

    temperature = page.locator('input[name="temperature"]')
    expect(temperature).to_have_value("0.7")  # the type's default
    error = page.locator("#err-temperature")
    temperature.fill("5")
    expect(error).to_have_text("Must be at most 2.")
    temperature.fill("0.4")
    expect(error).to_be_empty()

    model = page.locator('input[name="model"]')
    model.fill("")
    expect(page.locator("#err-model")).to_have_text("This setting is required.")
    model.fill("gpt-4o")
    expect(page.locator("#err-model")).to_be_empty()
    page.locator('textarea[name="stop"]').fill("###\nEND")
    page.locator('input[name="retry.max_attempts"]').fill("4")
    page.screenshot(path=str(tmp_path / "node-config.png"), full_page=True)

    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved version 1")
    expect(page.locator("#config-status")).to_have_text("valid")
    config = NodeConfig.get(built.flow_id, built.node_id("llm")).config
    assert config["temperature"] == 0.4 and config["stop"] == ["###", "END"]
    assert config["retry"]["max_attempts"] == 4


def test_the_raw_json_view_validates_while_typing(page_as, people):
    built = build_flow("acme", name="Browser JSON")
    page = page_as(people["admin of acme"])
    page.goto(built.config_url("retriever"))
    page.get_by_role("link", name="Raw JSON").click()
    page.wait_for_url("**?view=json")
    editor = page.locator('textarea[name="config_json"]')
    expect(editor).to_contain_text('"top_k": 5')
    editor.fill('{"index": "docs", "top_k": 500}')
    expect(page.locator("#json-problems")).to_contain_text("$.top_k Must be at most 50.")
    editor.fill('{"index": "docs", "top_k": 7')
    expect(page.locator("#json-problems")).to_contain_text("Not valid JSON")
    editor.fill('{"index": "docs", "top_k": 7}')
    expect(page.locator("#json-problems")).to_have_text("Valid configuration")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved version 1")
    assert NodeConfig.get(built.flow_id, built.node_id("retriever")).config == {"index": "docs", "top_k": 7}


def test_choosing_a_project_narrows_the_flow_list_in_place(page_as, people):
    built = build_flow("acme", name="Browser project flow")
    page = page_as(people["admin of acme"])
    page.goto("/flows/")
    page.locator("aside").get_by_role("link", name=built.project.name).click()
    expect(page.locator("#flows h2")).to_contain_text(f"Flows in {built.project.name}")
    expect(page.locator("#flows tbody tr")).to_have_count(1)
    assert f"project={built.project.project_id}" in page.url
    page.locator("#flows").get_by_role("link", name="Browser project flow").click()
    expect(page.locator(".page-title")).to_have_text("Browser project flow")


def test_two_people_edit_the_same_node_and_the_later_save_is_refused(page_as, people):
    built = build_flow("acme", name="Browser conflict")
    first, second = page_as(people["admin of acme"]), page_as(people["admin of acme"])
    for page in (first, second):
        page.goto(built.config_url("condition"))
    first.locator('input[name="expression"]').fill("output.score > 0.9")
    first.get_by_role("button", name="Save configuration").click()
    expect(first.locator(".flash-success")).to_contain_text("Saved version 1")

    second.locator('input[name="expression"]').fill("output.score < 0.1")
    second.get_by_role("button", name="Save configuration").click()
    expect(second.locator(".form-error")).to_contain_text(
        "Someone else saved this node's configuration first"
    )
    assert NodeConfig.get(built.flow_id, "n06").config["expression"] == "output.score > 0.9"
    second.get_by_role("link", name="Load their version").click()
    expect(second.locator('input[name="expression"]')).to_have_value("output.score > 0.9")


def test_an_admin_removes_a_stored_secret(page_as, people, tmp_path):
    built = build_flow(
        "acme", name="Browser secrets", configs={"llm": {"model": "gpt-4o", "api_key": "sk-old-9"}}
    )
    page = page_as(people["admin of acme"])
    page.goto(built.config_url("llm"))
    expect(page.locator('input[name="api_key"]')).not_to_have_value("sk-old-9")
    page.get_by_label("Remove the stored secret").check()
    page.screenshot(path=tmp_path / "node-config-secret.png", full_page=True)
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved version 2")
    expect(page.get_by_label("Remove the stored secret")).to_have_count(0)
    assert "api_key" not in NodeConfig.get(built.flow_id, built.node_id("llm")).config
