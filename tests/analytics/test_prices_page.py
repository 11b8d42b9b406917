"""The prices page: staff see which price applies and why, set prices over the catalogue, re-price."""

from __future__ import annotations

from datetime import timedelta

from dashboard.analytics import pricing, repricing
from dashboard.analytics.models import ModelPrice
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from tests.analytics.conftest import raw_executions, run, slug
from tests.conftest import element_by_id


def _form(model: str, **values) -> dict:
    return {
        "model": model,
        "effective_from": (clock.now() - timedelta(days=2)).date().isoformat(),
        "input": "1.00",
        "output": "2.00",
        **values,
    }


def _price_of(model: str) -> ModelPrice:
    return next(price for price in pricing.staff_prices() if price.model == model)


def test_a_tenant_admin_and_a_moderator_cannot_open_it(acme_admin, moderator):
    for client in (acme_admin, moderator):
        assert client.get("/analytics/prices/").status_code == 403
        assert client.post("/analytics/prices/save/", _form("x")).status_code == 403


def test_the_look_up_says_the_dated_name_gets_the_catalogue_price_of_its_model(staff):
    html = staff.get("/analytics/prices/", {"model": "gpt-4o-mini-2024-07-18"}).content.decode()
    found = html[html.index('data-testid="lookup"') :][:1500]
    assert "catalogue" in found and "<code>gpt-4o-mini</code> (openai)" in found and "$0.15" in found


def test_staff_add_a_price_it_applies_is_audited_and_the_look_up_says_why(staff):
    model = slug("house-llm")
    response = staff.post("/analytics/prices/save/", _form(model, cache_read="0.10", note="list price"))
    assert response.status_code == 302
    price = _price_of(model)
    assert (price.input, price.output, price.cache_read, price.scope) == (1_000_000, 2_000_000, 100_000, "*")
    events = [e for e in AuditEvent.query("platform") if e.target_id == f"*/{price.price_id}"]
    assert [e.action for e in events] == ["price.add"]
    html = staff.get("/analytics/prices/", {"model": model}).content.decode()
    assert "staff override" in html and f"{model} from " in html


def test_a_price_that_makes_no_sense_is_refused_with_its_field_named_and_nothing_saved(staff):
    model = slug("bad")
    response = staff.post("/analytics/prices/save/", _form(model, input="-3"))
    assert response.status_code == 422
    assert "dollars per 1 million tokens" in response.content.decode()
    assert all(price.model != model for price in pricing.staff_prices())


def test_two_staff_changing_one_price_the_second_is_told_and_nothing_changes(staff):
    model = slug("race")
    staff.post("/analytics/prices/save/", _form(model))
    price = _price_of(model)
    edit = {"price_id": price.price_id, "scope": "*", "version": price.version}
    assert staff.post("/analytics/prices/save/", _form(model, input="5", **edit)).status_code == 302
    stale = staff.post("/analytics/prices/save/", _form(model, input="9", **edit))
    assert stale.status_code == 422 and "changed this price meanwhile" in stale.content.decode()
    assert _price_of(model).input == 5_000_000


def test_a_retired_price_stops_applying(staff):
    model = slug("old")
    staff.post("/analytics/prices/save/", _form(model))
    price = _price_of(model)
    response = staff.post(f"/analytics/prices/*/{price.price_id}/retire/", {"version": price.version})
    assert response.status_code == 302
    assert _price_of(model).retired is True
    assert pricing.quote(None, model, pricing.Usage(input=1_000_000), clock.now()).source == "none"


def test_re_pricing_from_the_page_runs_and_its_row_stops_polling_when_done(staff, tenant, settings):
    settings.PRICES_CACHE_SECONDS = 0
    agent = slug("agent")
    tenant.post(agent, run("a", model="gpt-4o-mini-2024-07-18", ago=timedelta(days=1)))
    staff.post("/analytics/prices/save/", _form("gpt-4o-mini", tenant=tenant.tenant_id))
    page = staff.get("/analytics/prices/").content.decode()
    assert 'data-testid="pending-change"' in page
    response = staff.post(
        "/analytics/prices/reprice/",
        {
            "tenant": tenant.tenant_id,
            "start": (clock.now() - timedelta(days=3)).date(),
            "end": clock.now().date(),
        },
    )
    assert response.status_code == 302
    job = next(job for job in repricing.PriceChange.query("changes") if job.scope == tenant.tenant_id)
    assert job.status == "queued"
    queued = staff.get(f"/analytics/prices/runs/{job.job_id}/", HTTP_HX_REQUEST="true")
    assert queued.status_code == 200 and "queued" in queued.content.decode()  # still polled
    assert repricing.run_queued() >= 1  # the background worker's turn
    assert repricing.run_queued() == 0  # nothing left: a job runs once
    job = repricing.get_job(job.job_id)
    assert job.status == "done" and job.changed == 1
    row = staff.get(f"/analytics/prices/runs/{job.job_id}/", HTTP_HX_REQUEST="true")
    assert row.status_code == 286 and "done" in row.content.decode()
    [execution] = raw_executions(tenant.tenant_id)
    assert (int(execution.cost_micro_usd), execution.price_source) == (1000 * 1 + 500 * 2, "contract")


def test_a_range_that_cannot_be_re_priced_is_refused_with_a_message(staff):
    response = staff.post(
        "/analytics/prices/reprice/",
        {"start": clock.now().date(), "end": clock.now().date() + timedelta(days=2)},
    )
    assert response.status_code == 422 and "cannot end after today" in response.content.decode()


def test_the_overview_names_an_unpriced_model_with_its_executions_and_offers_staff_a_price(staff, tenant):
    model = slug("home-grown")
    agent = slug("agent")
    tenant.post(agent, {"runs": [run("u1", model=model), run("u2", model=model)]})
    admin_html = tenant.client.get("/analytics/").content.decode()
    notice = element_by_id(admin_html, "overview-body")
    assert 'data-testid="unpriced-models"' in notice and model in notice and "2 executions" in notice
    assert "Add a price" not in notice  # a tenant admin cannot set prices
    staff_html = staff.get("/analytics/", {"tenant": tenant.tenant_id}).content.decode()
    assert f"/analytics/prices/?model={model}" in staff_html


def test_the_execution_page_says_which_price_applied_and_shows_cached_tokens(tenant):
    agent = slug("agent")
    tenant.post(agent, run("c", model="gpt-4o-mini-2024-07-18", tokens_in=1000, tokens_cache_read=600))
    html = tenant.client.get("/analytics/executions/c/").content.decode()
    price = html[html.index('data-testid="price-source"') :][:600]
    assert "catalogue" in price and "openai/gpt-4o-mini" in price
    assert "600 read from cache" in html


def test_the_execution_history_names_an_unpriced_model_within_its_filters(staff, tenant):
    model = slug("home-grown")
    agent = slug("agent")
    tenant.post(agent, {"runs": [run("h1", model=model), run("h2", model="gpt-4o-mini-2024-07-18")]})
    html = tenant.client.get("/analytics/executions/").content.decode()
    notice = html[html.index('data-testid="unpriced-models"') :][:800]
    assert f"<code>{model}</code> (1 execution)" in notice and "gpt-4o-mini" not in notice
    other = tenant.client.get("/analytics/executions/", {"model": "gpt-4o-mini-2024-07-18"}).content.decode()
    assert 'data-testid="unpriced-models"' not in other  # filtered to a priced model: nothing to name
    staff_html = staff.get("/analytics/executions/", {"tenant": tenant.tenant_id}).content.decode()
    assert f"Add a price for {model}" in staff_html
