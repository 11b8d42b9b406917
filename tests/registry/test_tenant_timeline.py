"""When was what live, across all the tenant's models: newest stretch first, paged with a signed
cursor, downloadable as CSV, only the tenant's own models, in a bounded number of DynamoDB calls."""

import csv
import io
import re

import pytest
from django.test import override_settings

from dashboard.accounts.access import scope_for_user
from dashboard.dynamo.paging import BadCursor
from dashboard.registry import queries, services
from tests.analytics.conftest import make_tenant
from tests.registry.conftest import make_project, version_data


@pytest.fixture
def fleet(people):
    """A tenant of its own with two models; production saw A 1.0.0, then B 1.0.0, then A 1.1.0."""
    kit = make_tenant(people, "Timeline tenant")
    staff = scope_for_user(people["staff"], kit.tenant_id)
    project = make_project(kit.tenant_id)

    def model(name: str, *versions: str):
        made, _ = services.register_model(
            staff, {"name": name, "project_id": project.project_id, **version_data(versions[0])}
        )
        for number in versions[1:]:
            services.register_version(staff, made.model_id, version_data(number))
        return made

    def ship(made, number: str, why: str) -> None:
        services.change_status(staff, made.model_id, number, "deploying", "production", reason=why)
        services.change_status(staff, made.model_id, number, "deployed", reason="smoke ok")

    alpha, beta = model("alpha", "1.0.0", "1.1.0"), model("beta", "1.0.0")
    ship(alpha, "1.0.0", "alpha first")
    ship(beta, "1.0.0", "beta first")
    ship(alpha, "1.1.0", "alpha better")
    return kit, staff, alpha, beta, model, ship


def order(html: str) -> list[str]:
    return re.findall(r'<tr data-model="[^"]+" data-version="([^"]+)">\s*<td><a [^>]*>([^<]+)</a>', html)


def test_the_timeline_shows_every_model_newest_first_and_downloads_as_csv(fleet):
    kit, _staff, alpha, beta, _model, _ship = fleet
    page = kit.client.get("/models/timeline/?environment=production")
    html = page.content.decode()
    assert page.status_code == 200
    assert order(html) == [("1.1.0", "alpha"), ("1.0.0", "beta"), ("1.0.0", "alpha")]
    assert "replaced by 1.1.0" in html and "alpha better" in html
    assert f'href="/models/{beta.model_id}/timeline/?environment=production"' in html

    download = kit.client.get("/models/timeline/?environment=production&format=csv")
    assert download["Content-Type"].startswith("text/csv") and "X-Export-Truncated" not in download
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(row["model"], row["version"]) for row in rows] == [
        ("alpha", "1.1.0"),
        ("beta", "1.0.0"),
        ("alpha", "1.0.0"),
    ]
    assert rows[0]["live_until"] == "" and rows[2]["how_it_ended"] == "replaced by 1.1.0"
    assert rows[2]["live_until"] == rows[0]["live_from"]

    empty = kit.client.get("/models/timeline/?environment=dev")
    assert "No version of any model has been live in dev yet" in empty.content.decode()
    fallback = kit.client.get("/models/timeline/?environment=nowhere")
    assert fallback.status_code == 200 and order(fallback.content.decode())[0] == ("1.1.0", "alpha")


def test_pages_follow_the_signed_cursor_and_a_forged_one_is_refused(fleet):
    kit, staff, *_ = fleet
    first = queries.tenant_timeline(staff, "production", limit=2)
    assert [(r.model_name, r.version) for r in first.rows] == [("alpha", "1.1.0"), ("beta", "1.0.0")]
    second = queries.tenant_timeline(staff, "production", cursor=first.next_cursor, limit=2)
    assert [(r.model_name, r.version) for r in second.rows] == [("alpha", "1.0.0")]
    assert second.next_cursor is None
    with pytest.raises(BadCursor):  # a cursor is signed for its tenant and environment
        queries.tenant_timeline(staff, "staging", cursor=first.next_cursor, limit=2)
    forged = kit.client.get("/models/timeline/?cursor=eyJhZnRlciI6IFtdfQ")
    assert forged.status_code == 400 and "start again from the first page" in forged.content.decode()


@override_settings(DYNAMODB_CALL_HEADERS=True)
def test_the_page_costs_the_same_calls_however_many_models_the_tenant_has(fleet):
    kit, _staff, _alpha, _beta, model, ship = fleet
    before = int(kit.client.get("/models/timeline/")["X-DynamoDB-Calls"])
    for name in ("gamma", "delta", "epsilon"):
        ship(model(name, "1.0.0"), "1.0.0", f"{name} first")
    after = kit.client.get("/models/timeline/")
    assert len(order(after.content.decode())) == 6
    assert int(after["X-DynamoDB-Calls"]) == before


def test_another_tenant_sees_none_of_these_models(fleet, globex_admin):
    _kit, _staff, alpha, beta, *_ = fleet
    for url in ("/models/timeline/?environment=production", "/models/timeline/?format=csv"):
        body = globex_admin.get(url).content.decode()
        assert alpha.model_id not in body and beta.model_id not in body and "alpha better" not in body
