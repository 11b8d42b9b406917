"""From the models list to the tenant's timeline: production across models newest first, the
staging tab swapped in by htmx, the CSV downloaded, and a model's own timeline one click away."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.accounts.access import scope_for_user
from dashboard.registry import services
from tests.analytics.conftest import make_tenant
from tests.registry.conftest import make_project, version_data

pytestmark = pytest.mark.browser


def test_the_timeline_across_models(page_as, people):
    kit = make_tenant(people, "Browser timeline tenant")
    staff = scope_for_user(people["staff"], kit.tenant_id)
    project = make_project(kit.tenant_id)
    models = {}
    for name, environment in (("ranker", "production"), ("scorer", "production"), ("tagger", "staging")):
        model, _ = services.register_model(
            staff, {"name": name, "project_id": project.project_id, **version_data("1.0.0")}
        )
        services.change_status(staff, model.model_id, "1.0.0", "deploying", environment, reason=f"{name} go")
        services.change_status(staff, model.model_id, "1.0.0", "deployed", reason="ok")
        models[name] = model

    page = page_as(kit.admin)
    page.goto("/models/")
    page.get_by_role("link", name="Timeline").click()
    expect(page).to_have_url(re.compile(r"/models/timeline/$"))
    rows = page.locator("#timeline tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("scorer")  # the newest stretch first
    expect(rows.nth(1)).to_contain_text("ranker")

    page.locator("nav.tabs").get_by_role("link", name="staging").click()
    expect(page).to_have_url(re.compile(r"environment=staging"))
    expect(page.locator("#timeline-title")).to_contain_text("Staging")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("tagger")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))
    assert [(r["model"], r["environment"]) for r in csv.DictReader(text)] == [("tagger", "staging")]

    page.get_by_role("link", name="tagger").click()
    expect(page).to_have_url(
        re.compile(rf"/models/{models['tagger'].model_id}/timeline/\?environment=staging")
    )
    expect(page.locator("tr[data-version='1.0.0']")).to_contain_text("still live")
