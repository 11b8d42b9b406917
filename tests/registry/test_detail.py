"""The model detail page: versions, metrics table and chart, comparison, deployment history."""

import json
import re

from dashboard.registry import services
from tests.conftest import client_for, element_by_id


def test_versions_are_listed_newest_first_in_version_order(acme_admin, register):
    model = register(versions=("1.2.0", "1.10.0", "1.9.1"))
    page = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    shown = re.findall(r'<tr data-version="([^"]+)"', page)
    assert shown == ["1.10.0", "1.9.1", "1.2.0"]


def test_it_shows_each_versions_details_and_metrics_as_a_table(acme_admin, register):
    model = register(
        versions=("1.0.0",), metrics={"accuracy": 0.9312, "latency_p95_ms": 41.5}, framework="xgboost"
    )
    page = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    assert "xgboost" in page and "s3://models/test/1.0.0/model.pt" in page
    metrics = page.split('id="metrics"')[1].split("</section>")[0]
    assert "accuracy" in metrics and "0.9312" in metrics and "41.5" in metrics


def test_the_chart_gets_the_chosen_metric_across_versions_oldest_first(acme_admin, register):
    model = register(versions=("2", "9", "10"))  # the table keeps "10" < "2" < "9"
    page = acme_admin.get(f"/models/{model.model_id}/?metric=accuracy").content.decode()
    data = json.loads(
        page.split('<script id="metric-series" type="application/json">')[1].split("</script>")[0]
    )
    assert [point["version"] for point in data] == ["2", "9", "10"]
    assert [point["value"] for point in data] == [0.9, 0.91, 0.92]
    assert 'data-metric="accuracy"' in page and "chart.umd.min.js" in page


def test_the_chart_partial_answers_htmx_alone(acme_admin, register):
    model = register(versions=("1.0.0", "1.1.0"))
    response = acme_admin.get(
        f"/models/{model.model_id}/?metric=accuracy", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart"
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="chart"' in body and "<html" not in body


def test_two_versions_compare_side_by_side_with_the_change(acme_admin, register):
    model = register(versions=("1.0.0", "1.1.0", "1.2.0"))
    response = acme_admin.get(
        f"/models/{model.model_id}/?a=1.0.0&b=1.2.0", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="compare"
    )
    body = response.content.decode()
    assert "<code>1.0.0</code>" in body and "<code>1.2.0</code>" in body
    accuracy = body.split("<td>accuracy</td>")[1].split("</tr>")[0]
    assert "0.9" in accuracy and "0.92" in accuracy and "+0.02" in accuracy


def test_comparing_an_unknown_version_says_so(acme_admin, register):
    model = register(versions=("1.0.0", "1.1.0"))
    page = acme_admin.get(f"/models/{model.model_id}/?a=9.9.9&b=1.0.0").content.decode()
    assert "Version 9.9.9 was not found" in page


def test_the_deployment_history_says_who_deployed_what_where_from_which_version(acme_admin, register, scopes):
    model = register(versions=("1.0.0", "1.1.0"))
    for version in ("1.0.0", "1.1.0"):
        services.change_status(scopes["acme"], model.model_id, version, "deploying", "staging")
        services.change_status(scopes["acme"], model.model_id, version, "deployed")
    history = acme_admin.get(f"/models/{model.model_id}/").content.decode().split('id="history"')[1]
    rows = history.split('<tr class="history-row">')[1:]
    assert len(rows) == 2
    newest = rows[0]
    assert "<code>1.1.0</code>" in newest and "staging" in newest and "<code>1.0.0</code>" in newest
    assert "admin@acme.test" in newest and "deployed" in newest
    assert "replaced by 1.1.0" in rows[1]


def test_another_tenants_model_is_not_found(globex_admin, register):
    model = register()
    assert globex_admin.get(f"/models/{model.model_id}/").status_code == 404
    assert globex_admin.get("/models/mdl_does_not_exist/").status_code == 404


def test_staff_open_any_tenants_model(people, register):
    model = register()
    assert client_for(people["staff"]).get(f"/models/{model.model_id}/").status_code == 200


def test_tenant_admins_are_not_offered_production(acme_admin, people, register):
    model = register()
    page = acme_admin.get(f"/models/{model.model_id}/").content.decode()
    assert '<option value="staging">' in page and '<option value="production">' not in page
    staff_page = client_for(people["staff"]).get(f"/models/{model.model_id}/").content.decode()
    assert "Deploy to production…" in staff_page  # production asks first: its own button


def test_a_staging_version_is_promoted_to_production_by_staff_only(acme_admin, people, register, scopes):
    model = register(versions=("1.0.0",))
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "staging")
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deployed")
    row = element_by_id(
        client_for(people["staff"]).get(f"/models/{model.model_id}/").content.decode(),
        "versions",
    )
    assert "Promote to production…" in row and "Promote to dev" not in row
    row = element_by_id(acme_admin.get(f"/models/{model.model_id}/").content.decode(), "versions")
    assert "Promote" not in row and "Production changes need staff" in row


def test_absurdly_long_ids_are_simply_not_found(acme_admin, register):
    model = register()
    assert acme_admin.get(f"/models/{'m' * 3000}/").status_code == 404
    # An over-long query value is refused at the edge with a clear 400.
    assert acme_admin.get(f"/models/?project={'p' * 3000}").status_code in (400, 404)
    response = acme_admin.post(
        f"/models/{model.model_id}/versions/{'9' * 3000}/status/", {"status": "retired"}
    )
    assert response.status_code == 404


def test_the_summary_polls_while_deploying_and_reloads_the_page_when_done(acme_admin, register, scopes):
    model = register()
    url = f"/models/{model.model_id}/"
    assert 'hx-trigger="every 2s"' not in acme_admin.get(url).content.decode()
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "dev")
    assert 'hx-trigger="every 2s"' in acme_admin.get(url).content.decode()
    poll = acme_admin.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="head")
    assert (
        poll.status_code == 200
        and 'id="head"' in poll.content.decode()
        and "<html" not in poll.content.decode()
    )
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deployed")
    done = acme_admin.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="head")
    assert done["HX-Refresh"] == "true"
