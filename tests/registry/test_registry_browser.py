"""The registry in a real browser: register, deploy, watch the list refresh itself, chart and compare."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.registry import services
from tests.conftest import assert_chart_painted, unique
from tests.registry.conftest import make_project

pytestmark = pytest.mark.browser


def test_register_a_version_deploy_it_to_staging_and_see_badge_and_history(page_as, people, register):
    model = register(versions=("1.0.0",))
    page = page_as(people["admin of acme"])
    page.goto(f"/models/{model.model_id}/")
    page.click("text=+ New version")
    page.fill("input[name=version]", "1.1.0")
    page.select_option("select[name=framework]", "pytorch")
    page.fill("input[name=artifact_uri]", "s3://models/demo/1.1.0/model.pt")
    page.fill("textarea[name=metrics]", "accuracy = 0.94\nlatency_p95_ms = 38")
    page.click("button:has-text('Register version')")
    page.wait_for_url(f"**/models/{model.model_id}/")
    row = page.locator('tr[data-version="1.1.0"]')
    expect(row.locator(".version-status")).to_contain_text("registered")
    row.locator("select[name=environment]").select_option("staging")
    row.locator("button:has-text('Deploy')").click()
    expect(page.locator(".flash-success")).to_contain_text("Deploying")
    expect(row.locator(".version-status")).to_contain_text("deploying")
    row.locator("button:has-text('Mark deployed')").click()
    expect(row.locator(".version-status .badge")).to_have_text("deployed")
    expect(page.locator('.env-box[data-env="staging"]')).to_contain_text("1.1.0")
    history = page.locator("#history .history-row").first
    expect(history).to_contain_text("1.1.0")
    expect(history).to_contain_text("staging")
    expect(history).to_contain_text("admin@acme.test")
    expect(history.locator(".badge")).to_have_text("deployed")


def test_the_list_refreshes_while_deploying_and_stops_polling_after(page_as, people, register, scopes):
    project = make_project("acme", unique("Live"))
    model = register(project=project)
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "staging")
    page = page_as(people["admin of acme"])
    page.goto(f"/models/?project={project.project_id}")
    cell = page.locator(f'tr[data-model="{model.model_id}"] td[data-env="staging"]')
    expect(cell).to_contain_text("deploying")
    expect(page.locator("#models[data-polling=on]")).to_have_count(1)
    # The list asks the server again while a deployment is in progress: wait for that request itself.
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true", timeout=10_000):
        pass
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deployed")
    expect(cell).to_contain_text("deployed", timeout=6000)
    expect(cell).not_to_contain_text("deploying")
    # No more polling once nothing is in progress: the swapped-in list carries no polling trigger.
    expect(page.locator("#models[data-polling=on]")).to_have_count(0)
    expect(page.locator("#models[hx-trigger*='every']")).to_have_count(0)


def test_filters_swap_the_list_and_keep_the_url(page_as, people, register, scopes):
    project = make_project("acme", unique("Filters"))
    deploying = register(project=project)
    registered = register(project=project)
    services.change_status(scopes["acme"], deploying.model_id, "1.0.0", "deploying", "dev")
    page = page_as(people["admin of acme"])
    page.goto(f"/models/?project={project.project_id}")
    expect(page.locator(f'tr[data-model="{registered.model_id}"]')).to_have_count(1)
    page.select_option("#filters select[name=status]", "deploying")
    expect(page.locator(f'tr[data-model="{registered.model_id}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-model="{deploying.model_id}"]')).to_have_count(1)
    assert re.search(r"status=deploying", page.url)


def test_the_chart_draws_the_chosen_metric_and_compare_swaps_in_place(page_as, people, register):
    model = register(versions=("1.0.0", "1.1.0", "1.2.0"))
    page = page_as(people["admin of acme"])
    page.goto(f"/models/{model.model_id}/")
    expect(page.locator("#metric-chart")).to_have_attribute("data-drawn", "3")
    assert_chart_painted(page, "metric-chart")
    page.select_option("#chart select[name=metric]", "latency_p95_ms")
    expect(page.locator("#metric-chart")).to_have_attribute("data-metric", "latency_p95_ms")
    expect(page.locator("#metric-chart")).to_have_attribute("data-drawn", "1")
    page.select_option("#compare select[name=a]", "1.0.0")
    expect(page.locator("#compare thead")).to_contain_text("1.0.0")
    expect(page.locator("#compare")).to_contain_text("+0.02")


def test_registering_a_model_lands_on_its_page(page_as, people, acme_project):
    page = page_as(people["admin of acme"])
    page.goto("/models/")
    page.click("text=+ Register a model")
    name = unique("browser-model")
    page.fill("input[name=name]", name)
    page.select_option("select[name=project_id]", acme_project.project_id)
    page.fill("input[name=artifact_uri]", "s3://models/b/1.0.0/model.pt")
    page.fill("textarea[name=metrics]", "accuracy = 0.9")
    page.click("button:has-text('Register')")
    expect(page.locator(".page-title")).to_contain_text(name)
    expect(page.locator(".flash-success")).to_contain_text("is registered")


def test_the_detail_page_follows_a_deployment_until_it_ends(page_as, people, register, scopes):
    model = register()
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "staging")
    page = page_as(people["admin of acme"])
    page.goto(f"/models/{model.model_id}/")
    expect(page.locator('#head[data-polling="on"]')).to_have_count(1)
    expect(page.locator('tr[data-version="1.0.0"] .version-status')).to_contain_text("deploying")
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deployed")
    expect(page.locator('tr[data-version="1.0.0"] .version-status .badge')).to_have_text(
        "deployed", timeout=8000
    )
    expect(page.locator('.env-box[data-env="staging"]')).to_contain_text("1.0.0")
    expect(page.locator('#head[data-polling="on"]')).to_have_count(0)
