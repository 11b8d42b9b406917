"""The datasets pages: the tenant's datasets by project, a dataset's schema/size/version, and the
model versions trained on it (the sparse dataset_id-index, keyed by tenant)."""

from __future__ import annotations

from dashboard.registry import queries
from dashboard.registry.models import Dataset
from tests.conftest import unique
from tests.registry.conftest import make_dataset, make_project


def described(project, name="tickets"):
    dataset = make_dataset(project, name=f"{name} {unique('d')}")
    dataset.update(
        actions=[
            Dataset.version.set("v4"),
            Dataset.format.set("parquet"),
            Dataset.size_bytes.set(3_500_000_000),
            Dataset.rows.set("120000"),
            Dataset.columns.set(
                [{"name": "ticket_id", "type": "string"}, {"name": "label", "type": "category"}]
            ),
        ]
    )
    return dataset


def test_the_list_groups_the_tenants_datasets_by_project(acme_admin, acme_project):
    dataset = described(acme_project)
    html = acme_admin.get("/datasets/").content.decode()
    assert acme_project.name in html and dataset.name in html and f"/datasets/{dataset.dataset_id}/" in html


def test_the_detail_shows_schema_size_version_and_the_versions_trained_on_it(
    acme_admin, acme_project, register
):
    dataset = described(acme_project)
    other = make_dataset(acme_project)
    model = register(versions=("1.0.0", "1.1.0"), dataset_id=dataset.dataset_id)
    register(versions=("2.0.0",), dataset_id=other.dataset_id)
    response = acme_admin.get(f"/datasets/{dataset.dataset_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("v4", "parquet", "3.3\xa0GB", "120,000", "ticket_id", "category"):
        assert text in html, text
    trained = queries.versions_trained_on("acme", dataset.dataset_id)
    assert [v.version for v in trained] == ["1.0.0"]  # only the first version named it
    assert f"/models/{model.model_id}/" in html and model.name in html
    assert "2.0.0" not in html


def test_versions_trained_on_is_scoped_by_tenant(people, acme_project, register, scopes):
    dataset = described(acme_project)
    register(versions=("1.0.0",), dataset_id=dataset.dataset_id)
    assert [v.tenant_id for v in queries.versions_trained_on("acme", dataset.dataset_id)] == ["acme"]
    assert list(queries.versions_trained_on("globex", dataset.dataset_id)) == []


def test_another_tenants_dataset_is_a_404(globex_admin, acme_project):
    dataset = described(acme_project)
    response = globex_admin.get(f"/datasets/{dataset.dataset_id}/")
    assert response.status_code == 404 and dataset.name not in response.content.decode()
    assert dataset.name not in globex_admin.get("/datasets/").content.decode()


def test_moderators_cannot_open_datasets(moderator, acme_project):
    dataset = described(acme_project)
    assert moderator.get("/datasets/").status_code == 403
    assert moderator.get(f"/datasets/{dataset.dataset_id}/").status_code == 403


def test_staff_pick_a_tenant_first_then_see_its_datasets(staff, people, acme_project):
    dataset = described(acme_project)
    assert "Pick a tenant" in staff.get("/datasets/").content.decode()
    from dashboard.accounts.access import TENANT_FOCUS_KEY
    from tests.conftest import client_for

    focused = client_for(people["staff"], **{TENANT_FOCUS_KEY: "acme"})
    assert dataset.name in focused.get("/datasets/").content.decode()
    assert focused.get(f"/datasets/{dataset.dataset_id}/").status_code == 200


def test_a_second_project_lists_its_own(acme_admin, people):
    project = make_project("acme", name=f"Speech {unique('p')}")
    dataset = described(project, name="calls")
    html = acme_admin.get("/datasets/").content.decode()
    assert project.name in html and dataset.name in html


def test_the_model_page_links_each_version_to_its_dataset(acme_admin, acme_project, register):
    dataset = described(acme_project)
    model = register(versions=("1.0.0",), dataset_id=dataset.dataset_id)
    html = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    assert f'href="/datasets/{dataset.dataset_id}/"' in html
