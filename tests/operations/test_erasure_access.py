"""Erasing a tenant cuts its access when the erase starts, on DynamoDB Local: from the transaction that
starts the job, its people cannot sign in and their sessions are refused, its API keys and OTLP ingestion
get 403 saying why and write nothing; another tenant carries on; an export-only job cuts nothing."""

from __future__ import annotations

from django.test import Client

from dashboard.accounts.queries import get_tenant
from dashboard.analytics.models import Execution, TraceItem
from dashboard.audit.models import AuditEvent
from dashboard.core import clock
from dashboard.operations import erasure
from tests.analytics.conftest import STAFF_SCOPE, TenantKit, make_tenant, run
from tests.conftest import client_for, people_on_tables_of_their_own
from tests.operations.test_span_retention import trace_export

# The erase scans whole tables: on the session's, which hold every other test's items by the time
# the suite gets here, a job took minutes; on the module's own, it reads these tests' items.
people = people_on_tables_of_their_own("erase-access")

MESSAGE = "This tenant is being erased"
PASSWORD = "correct-horse-battery"  # make_tenant's admin
PAGE = "/analytics/executions/"


def otlp(tenant: TenantKit, trace_id: str):
    return Client().post(
        "/api/otel/v1/traces",
        data=trace_export(trace_id, clock.now()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.token}",
    )


def sign_in(tenant: TenantKit):
    client = Client()
    response = client.post("/login/", {"email": tenant.admin.email, "password": PASSWORD})
    return client, response


def can_do_everything(tenant: TenantKit, label: str) -> None:
    """The tenant's admin reads a page, its key records a run and its exporter a trace."""
    assert tenant.client.get(PAGE).status_code == 200
    assert tenant.post("agent-a", run(f"run-{label}"))[0] == 201
    assert otlp(tenant, f"{abs(hash(label)):032x}"[-32:].rjust(32, "1")).status_code == 200


def test_starting_an_erase_cuts_the_tenants_access_at_once_and_no_other(people, staff):
    tenant, other = make_tenant(people), make_tenant(people)
    can_do_everything(tenant, "before")
    htmx_session = client_for(tenant.admin)  # another signed-in session, whose next request is htmx's
    before = {item.execution_id for item in Execution.by_tenant.query(tenant.tenant_id)}

    job = erasure.start(STAFF_SCOPE, tenant.tenant_id, export=False)

    # The flag is on the tenant's item and in the audit event of the start, both from that one step.
    assert get_tenant(tenant.tenant_id).erasing_job_id == job.job_id
    [event] = [
        e
        for e in AuditEvent.query("platform")
        if e.action == "tenant.erase.start" and e.target_id == tenant.tenant_id
    ]
    assert event.changes["access"] == "cut"

    # The signed-in admin's next request is refused, saying why, and their session is over.
    refused = tenant.client.get(PAGE)
    assert refused.status_code == 403 and MESSAGE in refused.content.decode()
    assert tenant.client.get(PAGE).status_code == 302  # signed out: to the sign-in page
    assert htmx_session.get(PAGE, HTTP_HX_REQUEST="true")["HX-Redirect"] == "/login/"
    # Nobody signs in again.
    client, answer = sign_in(tenant)
    assert answer.status_code == 200 and MESSAGE in answer.content.decode()
    assert client.get(PAGE).status_code == 302

    # Its API key and its exporter get 403 with the reason, and nothing is written.
    status, body = tenant.post("agent-a", run("run-after"))
    assert status == 403 and body["error"]["code"] == "tenant_erasing" and MESSAGE in body["error"]["message"]
    status, _body = tenant.get("/api/agents/agent-a/runs")
    assert status == 403
    trace_id = "a" * 31 + "1"
    refused = otlp(tenant, trace_id)
    assert refused.status_code == 403 and MESSAGE in refused.json()["message"]
    assert {item.execution_id for item in Execution.by_tenant.query(tenant.tenant_id)} == before
    assert list(TraceItem.query(f"{tenant.tenant_id}#{trace_id}")) == []

    # Another tenant carries on as before.
    can_do_everything(other, "during")
    assert sign_in(other)[1].status_code == 302

    # Staff see the state: the jobs list, the job's page and the tenant switcher.
    assert 'data-access="cut"' in staff.get("/account/operations/erase/").content.decode()
    page = staff.get(f"/account/operations/erase/{job.job_id}/").content.decode()
    assert 'id="erase-access"' in page and "(being erased)" in page

    assert erasure.run(job.job_id).status == "erased"  # finished here: no later worker pass finds it
    can_do_everything(other, "after")


def test_an_export_only_job_leaves_access_intact_until_staff_erase(people, settings, tmp_path):
    settings.TENANT_EXPORT_DIR = tmp_path
    tenant = make_tenant(people)
    job = erasure.start(STAFF_SCOPE, tenant.tenant_id, export_only=True)
    assert get_tenant(tenant.tenant_id).erasing_job_id is None
    can_do_everything(tenant, "exporting")
    assert sign_in(tenant)[1].status_code == 302
    assert erasure.run(job.job_id).status == "exported"
    can_do_everything(tenant, "exported")

    erasure.erase_exported(STAFF_SCOPE, job.job_id)  # staff go on to erase: access ends now
    assert get_tenant(tenant.tenant_id).erasing_job_id == job.job_id
    assert tenant.post("agent-a", run("run-erasing"))[0] == 403
    assert otlp(tenant, "b" * 31 + "1").status_code == 403
    assert tenant.client.get(PAGE).status_code == 403
    [event] = [
        e
        for e in AuditEvent.query("platform")
        if e.action == "tenant.erase.go" and e.changes["job"] == job.job_id
    ]
    assert event.changes["access"] == "cut"
    assert erasure.run(job.job_id).status == "erased"


def test_the_otlp_refusal_is_told_in_protobuf_to_a_protobuf_exporter(people):
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    tenant = make_tenant(people)
    job = erasure.start(STAFF_SCOPE, tenant.tenant_id, export=False)
    message = trace_service_pb2.ExportTraceServiceRequest()
    message.resource_spans.add().schema_url = "x"
    response = Client().post(
        "/api/otel/v1/traces",
        data=message.SerializeToString(),
        content_type="application/x-protobuf",
        HTTP_AUTHORIZATION=f"Bearer {tenant.token}",
    )
    assert response.status_code == 403 and response["Content-Type"] == "application/x-protobuf"
    assert MESSAGE.encode() in response.content
    assert erasure.run(job.job_id).status == "erased"


def test_an_invitation_to_a_tenant_being_erased_is_refused(people):
    from dashboard.accounts.queries import find_user_by_email
    from tests.accounts.test_invitations import accept, invite, link_of

    tenant = make_tenant(people)
    email = f"newcomer@{tenant.tenant_id}.test"
    link = link_of(invite(tenant.client, email))
    job = erasure.start(STAFF_SCOPE, tenant.tenant_id, export=False)
    for answer in (Client().get(link), accept(link)):
        assert answer.status_code == 403 and MESSAGE in answer.content.decode()
    assert find_user_by_email(email) is None
    assert erasure.run(job.job_id).status == "erased"


def test_a_page_learns_whether_the_tenant_is_being_erased_in_the_same_call_as_the_person(people, monkeypatch):
    """A signed-in page reads the person and the tenant's flag in one batch call (the tenant named at
    sign-in): no GetItem of the tenant on top; a session from before the flag was recorded still checks."""
    from dashboard.accounts.models import Tenant
    from dashboard.accounts.session_store import TENANT_KEY
    from dashboard.dynamo import metrics

    tenant = make_tenant(people)
    client, _ = sign_in(tenant)
    strong_reads: list = []
    real_get = Tenant.get.__func__

    def get(cls, *args, **kwargs):
        if kwargs.get("consistent_read"):
            strong_reads.append(args)
        return real_get(cls, *args, **kwargs)

    monkeypatch.setattr(Tenant, "get", classmethod(get))
    with metrics.track() as stats:
        assert client.get("/account/me/").status_code == 200
    assert strong_reads == [] and stats.operations.get("BatchGetItem", 0) >= 1
    session = client.session
    del session[TENANT_KEY]
    session.save()
    assert client.get("/account/me/").status_code == 200
    assert strong_reads == [(tenant.tenant_id,)]
    erasure.start(STAFF_SCOPE, tenant.tenant_id, export=False)
    assert client.get("/account/me/").status_code == 403
