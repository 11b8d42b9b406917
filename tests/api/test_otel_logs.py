"""POST /api/otel/v1/logs: a training job's Python logging, exported by the OpenTelemetry SDK, becomes run lines."""

from __future__ import annotations

import gzip
import json
import logging
import time

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource

from dashboard.core import clock
from dashboard.experiments import services
from dashboard.experiments.models import Experiment, ExperimentRun
from dashboard.flows.models import Project
from tests.analytics.conftest import TenantKit, make_tenant
from tests.conftest import unique
from tests.experiments.conftest import api_scope

# The SDK's LoggingHandler still works; its deprecation points at a package these tests do not need.
pytestmark = pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated")


@pytest.fixture
def tenant(people) -> TenantKit:
    return make_tenant(people)


def experiment_of(tenant_id: str) -> tuple[Experiment, ExperimentRun]:
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id=tenant_id, name="Vision", created_at=now, updated_at=now
    )
    project.save()
    experiment = services.create_experiment(api_scope(tenant_id), project.project_id, "LR sweep", "otel")
    return experiment, services.start_run(api_scope(tenant_id), experiment.experiment_id, name="lr=3e-4")


def capture_training_logs(experiment: Experiment, run: ExperimentRun, emit) -> list:
    """Records as the SDK's LoggingHandler makes them from `emit(logger)`, the run named on the resource."""
    captured = InMemoryLogRecordExporter()
    provider = LoggerProvider(
        resource=Resource.create(
            {
                "service.name": "trainer",
                "diatonic.experiment_id": experiment.experiment_id,
                "diatonic.run_id": run.run_id,
            }
        )
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(captured))
    logger = logging.getLogger(unique("train"))
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
    emit(logger)
    provider.shutdown()
    return list(captured.get_finished_logs())


def log_exporter(web_server: str, token: str, **options) -> OTLPLogExporter:
    return OTLPLogExporter(
        endpoint=web_server + "/api/otel/v1/logs",
        headers={"Authorization": "Bearer " + token},
        timeout=30,
        **options,
    )


def run_lines(tenant: TenantKit, run: ExperimentRun) -> list[dict]:
    status, body = tenant.get(f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs")
    assert status == 200, body
    return body["lines"]


def test_python_logging_exported_by_the_sdk_becomes_the_runs_lines(web_server, tenant):
    experiment, run = experiment_of(tenant.tenant_id)

    def emit(logger):
        logger.info("epoch 1 loss=0.52", extra={"epoch": 1, "loss": 0.52})
        logger.warning("learning rate is high")
        logger.error("validation diverged", extra={"diatonic.component": "evaluator"})
        try:
            raise ValueError("x" * 20_000)
        except ValueError:
            logger.exception("checkpoint failed " + "y" * 20_000)  # long texts are cut, not refused

    records = capture_training_logs(experiment, run, emit)
    assert log_exporter(web_server, tenant.token).export(records) == LogRecordExportResult.SUCCESS
    lines = run_lines(tenant, run)
    assert [(line["severity"], line["message"]) for line in lines] == [
        ("info", "epoch 1 loss=0.52"),
        ("warning", "learning rate is high"),
        ("error", "validation diverged"),
        ("error", "checkpoint failed " + "y" * 7_981 + "…"),
    ]
    assert lines[3]["fields"]["exception.type"] == "ValueError"
    assert len(lines[3]["fields"]["exception.message"]) == 2_000
    assert lines[0]["fields"]["epoch"] == 1 and lines[0]["fields"]["loss"] == 0.52
    assert lines[0]["component"] == records[0].instrumentation_scope.name
    assert lines[2]["component"] == "evaluator"
    # exported again (a retry): still three lines, counted once
    assert log_exporter(web_server, tenant.token, compression=Compression.Gzip).export(records) == (
        LogRecordExportResult.SUCCESS
    )
    assert len(run_lines(tenant, run)) == 4
    status, body = tenant.get(f"/api/experiments/{run.experiment_id}/runs/{run.run_id}/logs")
    assert body["run"]["line_count"] == 4 and body["run"]["error_count"] == 2


def test_a_batch_with_one_bad_record_writes_the_others(web_server, tenant):
    experiment, run = experiment_of(tenant.tenant_id)

    def emit(logger):
        logger.info("step 100")
        logger.info("step 200", extra={"diatonic.run_id": "no-such-run"})
        logger.info("step 300")

    records = capture_training_logs(experiment, run, emit)
    assert log_exporter(web_server, tenant.token).export(records) == LogRecordExportResult.SUCCESS
    assert [line["message"] for line in run_lines(tenant, run)] == ["step 100", "step 300"]


def _attr(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def json_logs(experiment_id: str, run_id: str, records: list[dict]) -> dict:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [_attr("diatonic.experiment_id", experiment_id)]},
                "scopeLogs": [{"scope": {"name": "trainer.loop"}, "logRecords": records}],
            }
        ]
    }


def record(message, run_id: str | None, *, number: int = 9, text: str = "INFO", offset_ms: int = 0) -> dict:
    body = {
        "timeUnixNano": str(time.time_ns() - 60_000_000_000 + offset_ms * 1_000_000),
        "severityNumber": number,
        "severityText": text,
        "body": {"stringValue": message} if isinstance(message, str) else message,
        "attributes": [_attr("batch", "b1")] + ([_attr("diatonic.run_id", run_id)] if run_id else []),
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
    }
    return body


def post_logs(web_server: str, token: str, payload: dict, **headers) -> requests.Response:
    return requests.post(
        web_server + "/api/otel/v1/logs",
        data=headers.pop("raw", None) or json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", **headers},
        timeout=30,
    )


def test_otlp_json_logs_answer_partial_success_for_records_that_name_no_run(web_server, tenant):
    experiment, run = experiment_of(tenant.tenant_id)
    payload = json_logs(
        experiment.experiment_id,
        run.run_id,
        [
            {
                **record("loaded 50,000 images", run.run_id, offset_ms=1),
                "attributes": [
                    _attr("batch", "b1"),
                    _attr("diatonic.run_id", run.run_id),
                    {"key": "grad_norm", "value": {"doubleValue": "NaN"}},
                ],
            },
            record("no run named", None, offset_ms=2),
            record(
                {"kvlistValue": {"values": [_attr("event", "checkpoint")]}},
                run.run_id,
                number=17,
                offset_ms=3,
            ),
            record("", run.run_id, text="WARN", number=0, offset_ms=4),  # empty message: invalid line
        ],
    )
    response = post_logs(web_server, tenant.token, payload)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "2"
    assert "diatonic.run_id" in partial["errorMessage"] and "message is required" in partial["errorMessage"]
    lines = run_lines(tenant, run)
    assert [(line["severity"], line["message"]) for line in lines] == [
        ("info", "loaded 50,000 images"),
        ("error", '{"event":"checkpoint"}'),
    ]
    assert lines[0]["component"] == "trainer.loop"
    assert lines[0]["fields"] == {
        "grad_norm": "nan",  # no NaN in DynamoDB numbers: kept as text
        "batch": "b1",
        "trace_id": "5b8efff798038103d269b633813fc60c",
        "span_id": "eee19b7ec3c1b174",
    }


def test_records_for_an_unknown_or_another_tenants_experiment_are_rejected_never_written(
    web_server, tenant, people
):
    mine, my_run = experiment_of(tenant.tenant_id)
    other = make_tenant(people)
    theirs, their_run = experiment_of(other.tenant_id)
    payload = json_logs(theirs.experiment_id, their_run.run_id, [record("sneaky", their_run.run_id)])
    payload["resourceLogs"].append(json_logs("exp_unknown", "r", [record("lost", "r")])["resourceLogs"][0])
    payload["resourceLogs"].append(
        json_logs(mine.experiment_id, my_run.run_id, [record("fine", my_run.run_id)])["resourceLogs"][0]
    )
    response = post_logs(
        web_server,
        tenant.token,
        payload,
        **{"Content-Encoding": "gzip", "raw": gzip.compress(json.dumps(payload).encode())},
    )
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert (
        partial["rejectedLogRecords"] == "2" and "is not one of this key's tenant" in partial["errorMessage"]
    )
    assert [line["message"] for line in run_lines(tenant, my_run)] == ["fine"]
    assert run_lines(other, their_run) == []


def test_bad_requests_get_the_otlp_answers(web_server, tenant):
    assert post_logs(web_server, tenant.token, {}, **{"Content-Type": "text/csv"}).status_code == 415
    assert post_logs(web_server, tenant.token, {}, raw=b"{oops").status_code == 400
    assert post_logs(web_server, "dk.bad.key", {}).status_code == 401
    response = requests.post(
        web_server + "/api/otel/v1/logs",
        data=b"\x0a\x05broken",
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {tenant.token}"},
        timeout=30,
    )
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/x-protobuf"
