"""What the overview costs in DynamoDB, as the response headers tell anyone with a browser."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings

from tests.analytics.conftest import run, slug


@override_settings(DYNAMODB_CALL_HEADERS=True)
def test_the_headers_report_the_calls_and_the_read_units_really_consumed(tenant):
    agent = slug("agent")
    for n in range(3):
        tenant.post(agent, run(f"cost-{n}", ago=timedelta(days=n * 9), user_id=f"user-{n}"))
    thirty = tenant.client.get("/analytics/?period=30")
    calls, units = int(thirty["X-DynamoDB-Calls"]), float(thirty["X-DynamoDB-Capacity"])
    # DynamoDB only reports units when asked: zero here would mean the figure is not real.
    assert calls > 0 and units > 0
    ninety = tenant.client.get(
        "/analytics/?period=90", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="overview-body"
    )
    assert float(ninety["X-DynamoDB-Capacity"]) > 0


@override_settings(DYNAMODB_CALL_HEADERS=False)
def test_without_the_headers_no_call_asks_for_capacity(tenant):
    response = tenant.client.get("/analytics/?period=30")
    assert "X-DynamoDB-Capacity" not in response
