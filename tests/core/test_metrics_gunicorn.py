"""/metrics under gunicorn: several worker processes, one scrape that sums them (multiprocess mode)."""

from __future__ import annotations

import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.core.test_production_browser import start_gunicorn, stop

TOKEN = "scrape-token-for-the-test"


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_scrape_sums_every_worker_and_needs_the_token(dynamodb_local, tmp_path):
    process, base_url, _log = start_gunicorn(
        dynamodb_local, tmp_path, GUNICORN_WORKERS="2", GUNICORN_THREADS="1", METRICS_TOKEN=TOKEN
    )
    try:
        for _ in range(12):
            assert get(f"{base_url}/readyz")[0] == 200
        assert get(f"{base_url}/metrics")[0] == 401
        status, text = get(f"{base_url}/metrics", TOKEN)
    finally:
        stop(process)
    assert status == 200
    families = {family.name: family for family in text_string_to_metric_families(text)}
    ready = [
        sample
        for sample in families["dashboard_http_requests"].samples
        if sample.name == "dashboard_http_requests_total" and sample.labels["route"] == "readyz"
    ]
    # Whichever worker answered each probe, the one scrape counts all twelve.
    assert sum(sample.value for sample in ready) == 12
    # The collector of files written by the workers answered, not one worker's own registry.
    assert "process_cpu_seconds" not in families
    calls = families["dashboard_dynamodb_calls"].samples
    assert any(
        s.labels == {"table": "sessions", "operation": "DescribeTable"} and s.value >= 12 for s in calls
    )
