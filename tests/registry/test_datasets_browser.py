"""In the browser: from the datasets list to a dataset's schema and on to a model version trained on it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.registry.models import Dataset
from tests.conftest import unique
from tests.registry.conftest import make_dataset

pytestmark = pytest.mark.browser


def test_an_admin_opens_a_dataset_and_reaches_the_model_trained_on_it(
    page_as, people, acme_project, register
):
    dataset = make_dataset(acme_project, name=f"Tickets {unique('d')[-6:]}")
    dataset.update(
        actions=[
            Dataset.version.set("v2"),
            Dataset.size_bytes.set(12_000_000),
            Dataset.columns.set(
                [{"name": "ticket_id", "type": "string"}, {"name": "priority", "type": "int"}]
            ),
        ]
    )
    model = register(name=f"triage-{unique('m')[-6:]}", versions=("1.0.0",), dataset_id=dataset.dataset_id)
    page = page_as(people["admin of acme"])
    page.goto("/")
    page.get_by_role("link", name="Datasets").click()
    section = page.locator("section", has_text=acme_project.name).first
    section.get_by_role("link", name=dataset.name).click()
    expect(page.locator("#schema")).to_contain_text("priority")
    expect(page.locator("#facts")).to_contain_text("v2")
    expect(page.locator("#facts")).to_contain_text("11.4\xa0MB")
    versions = page.locator("#versions")
    expect(versions).to_contain_text("1.0.0")
    versions.get_by_role("link", name=model.name).click()
    page.wait_for_url(f"**/models/{model.model_id}/")
    expect(page.locator("#versions")).to_contain_text(dataset.name)
