"""Alert rules fire under `make run` and `make serve` with nobody running `manage.py run_alerts`:
`make run` turns on ALERTS_IN_PROCESS (a loop thread in the serving process), `make serve` has
gunicorn's master run one `run_alerts --loop` beside its workers."""

from __future__ import annotations

import importlib
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from dashboard.alerts import queries, services
from dashboard.alerts.inputs import RuleInput
from dashboard.analytics.services import set_budget
from tests.alerts.conftest import STAFF_SCOPE, run

ROOT = Path(__file__).resolve().parents[2]


def _over_budget_without_any_check(tenant, receiver, settings) -> None:
    """The tenant has spent over 50 % of its budget, and nothing has evaluated its rule yet."""
    settings.ALERTS_CHECK_ON_INGEST = False  # the API batch's own check would fire it
    status, body = tenant.post("probe-agent", run())
    assert status == 201
    set_budget(STAFF_SCOPE, tenant.tenant_id, body["runs"][0]["cost_micro_usd"] * 2, None)
    services.create_rule(tenant.scope, None, RuleInput(name="Budget", kind="budget", thresholds=(50,)))
    services.save_channel(tenant.scope, None, receiver.url, "", None)
    tenant.post("probe-agent", run())
    assert queries.notifications(tenant.tenant_id).items == []


def _wait_for_notification(tenant_id: str, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        notes = queries.notifications(tenant_id).items
        if notes:
            return notes
        time.sleep(0.2)
    return []


def _server_command(target: str, program: str) -> str:
    dry_run = subprocess.run(
        ["make", "-n", target, "PY=.venv/bin/python"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    commands = dry_run.stdout.replace("\\\n", " ").splitlines()  # continued lines joined
    return next(line for line in commands if program in line and "echo" not in line)


def test_make_run_and_make_serve_start_their_servers_with_alerts_on():
    for target, program in (("run", "manage.py runserver"), ("serve", "gunicorn --config")):
        command = _server_command(target, program)
        assert re.search(r"ALERTS_IN_PROCESS=\$\{ALERTS_IN_PROCESS:-true\}", command), (target, command)


def test_the_make_run_server_evaluates_a_rule_on_its_own(tenant, receiver, settings):
    _over_budget_without_any_check(tenant, receiver, settings)
    settings.ALERTS_IN_PROCESS = True  # what `make run` gives runserver
    settings.ALERTS_INTERVAL_SECONDS = 0.3
    # runserver loads the WSGI application (settings.WSGI_APPLICATION) in the serving process.
    module = "dashboard.wsgi"
    loaded = (
        importlib.reload(sys.modules[module]) if module in sys.modules else importlib.import_module(module)
    )
    try:
        assert loaded.application is not None
        notes = _wait_for_notification(tenant.tenant_id, seconds=30)
    finally:
        from dashboard.alerts import scheduler

        scheduler.stop_in_process()
    assert len(notes) == 1 and "50 % of the budget" in notes[0].message
    assert [body["threshold"] for body in receiver.bodies()] == ["50%"]


def test_the_loop_survives_a_failing_pass(monkeypatch):
    from dashboard.alerts import scheduler

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("DynamoDB went away")
        return SimpleNamespace(tenants=0, fired=0, redelivered=0)

    monkeypatch.setattr(scheduler, "run_pass", flaky)
    loop = scheduler.Loop(0.05).start()
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    loop.stop()
    assert len(calls) >= 3 and not loop.running


def test_the_make_serve_master_runs_one_alerts_loop_beside_its_workers(
    tenant, receiver, monkeypatch, settings, tmp_path
):
    _over_budget_without_any_check(tenant, receiver, settings)
    monkeypatch.setenv("ALERTS_IN_PROCESS", "true")  # what `make serve` gives gunicorn
    # gunicorn.conf.py sets the metrics directory in this process's environment: undone after the test,
    # or every later test (and gunicorn it starts) would use a directory its on_exit removed.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTS_INTERVAL_SECONDS", "0.5")
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", settings.DYNAMODB_ENDPOINT_URL)
    monkeypatch.setenv("DYNAMODB_TABLE_PREFIX", settings.DYNAMODB_TABLE_PREFIX)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert os.environ["ALERTS_IN_PROCESS"] == "false"  # the workers start no loop of their own
    master = SimpleNamespace(log=SimpleNamespace(info=lambda *args: None))
    config["when_ready"](master)
    try:
        assert master.alerts_process.args[2:4] == ["run_alerts", "--loop"]
        notes = _wait_for_notification(tenant.tenant_id, seconds=60)
    finally:
        config["on_exit"](master)
    assert len(notes) == 1
    assert master.alerts_process.poll() is not None  # stopped with the server
