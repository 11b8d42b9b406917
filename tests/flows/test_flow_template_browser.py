"""In the browser: a flow with settings saved as a template, approved by a moderator, used by another
tenant (supplying the secrets it leaves out) who lands on the new flow with its settings; a newer
approved version then shows as "update available" and is applied."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from dashboard.accounts.access import scope_for_user
from dashboard.core import clock
from dashboard.flows.models import Flow, NodeConfig, Project
from dashboard.marketplace import services as marketplace
from dashboard.marketplace.models import AgentTemplate
from tests.conftest import unique
from tests.flows.conftest import build_flow
from tests.flows.test_flow_template import HTTP, LLM, PROMPT

pytestmark = pytest.mark.browser


def test_a_flow_becomes_a_template_another_tenant_uses_and_then_updates(page_as, people, tmp_path):
    name = f"Shared triage {unique('b')[-6:]}"
    built = build_flow("acme", name=name, configs={"llm": LLM, "http_request": HTTP, "prompt": PROMPT})
    now = clock.now()
    globex_project = Project(
        project_id=unique("prj"),
        tenant_id="globex",
        name=f"Globex support {unique('p')[-5:]}",
        created_at=now,
        updated_at=now,
    )
    globex_project.save()

    # Acme saves its flow as a public template: the secrets are listed as required inputs.
    acme = page_as(people["admin of acme"])
    acme.goto(f"/flows/{built.flow_id}/")
    acme.get_by_role("link", name="Save as template").click()
    expect(acme.locator("#template-inputs")).to_contain_text("required input")
    acme.locator('input[name="name"]').fill(name)
    acme.locator('select[name="category"]').select_option("customer-support")
    acme.get_by_label("Public — submit for review").check()
    acme.get_by_role("button", name="Save template").click()
    expect(acme.locator(".flash-success")).to_contain_text("A moderator reviews it")
    expect(acme.locator("#template-inputs .badge", has_text="required")).to_have_count(3)
    template_url = acme.url

    # A moderator approves it.
    mod = page_as(people["moderator"])
    mod.goto(template_url)
    mod.get_by_role("button", name="Approve").click()
    expect(mod.locator(".flash-success")).to_contain_text("listed publicly")

    # Globex uses it: asked for the secrets, then straight to its new flow with the settings.
    globex = page_as(people["admin of globex"])
    globex.goto(template_url)
    use = globex.locator("#use")
    use.locator('select[name="project_id"]').select_option(globex_project.project_id)
    use.locator('input[name="name"]').fill("Globex triage")
    use.get_by_role("button", name="Create flow").click()
    expect(globex.locator("#use .field-error").first).to_contain_text("Required")
    llm, http = built.node_id("llm"), built.node_id("http_request")
    use.locator(f'input[name="input__{llm}__api_key"]').fill("sk-globex-browser-key1")
    use.locator(f'input[name="input__{http}__auth.token"]').fill("globex-browser-token")
    use.locator(f'textarea[name="input__{http}__headers"]').fill("Authorization: Bearer sk-globexbrowser77")
    use.get_by_role("button", name="Create flow").click()
    expect(globex.locator(".flash-success")).to_contain_text("with its settings")
    expect(globex.locator("#source-template")).to_contain_text(name)
    flow_url = globex.url
    flow_id = flow_url.rstrip("/").split("/")[-1]
    assert Flow.get(flow_id).tenant_id == "globex"
    globex.locator("tr", has_text="Llm step").get_by_role("link", name="Configure").click()
    expect(globex.locator('input[name="model"]')).to_have_value("claude-3-5-haiku")
    expect(globex.locator('input[name="temperature"]')).to_have_value("0.2")

    # Acme publishes a new version; once approved, globex's flow offers it with what changed.
    acme_scope = scope_for_user(people["admin of acme"])
    template = AgentTemplate.get(template_url.rstrip("/").split("/")[-1], consistent_read=True)
    definition = json.loads(json.dumps(template.definition))
    next(n for n in definition["nodes"] if n["id"] == llm)["config"]["model"] = "claude-3-7-sonnet"
    definition["nodes"].append({"id": "recap", "type": "prompt", "label": "Recap", "config": PROMPT})
    edited = marketplace.update_template(
        acme_scope,
        template.template_id,
        {"name": name, "category": "customer-support", "visibility": "public", "definition": definition},
        template.version,
    )
    mod.goto(template_url)
    expect(mod.locator(".tpl-badges")).to_contain_text(f"version {edited.version}")
    mod.get_by_role("button", name="Approve").click()
    expect(mod.locator(".flash-success")).to_contain_text("listed publicly")

    globex.goto(flow_url)
    update = globex.locator("#template-update")
    expect(update).to_contain_text("Update available")
    expect(update.locator("#template-changes")).to_contain_text("Node added: Recap")
    expect(update.locator("#template-changes")).to_contain_text("claude-3-7-sonnet")
    globex.screenshot(path=str(tmp_path / "update-available.png"), full_page=True)
    update.get_by_role("button", name="Apply update").click()
    expect(globex.locator(".flash-success")).to_contain_text("now follows version")
    expect(globex.locator("#template-update")).to_have_count(0)
    expect(globex.locator("#nodes")).to_contain_text("Recap")
    # Globex's own settings were kept (the default choice).
    assert NodeConfig.get(flow_id, llm).config["model"] == "claude-3-5-haiku"
