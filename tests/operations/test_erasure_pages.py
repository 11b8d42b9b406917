"""Staff's export-and-erase pages: only staff reach them, a slip in the typed tenant id starts nothing,
and the export is downloadable from the job's page."""

from __future__ import annotations

import gzip
import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from dashboard.operations import erasure
from tests.analytics.conftest import make_tenant, run
from tests.conftest import people_on_tables_of_their_own

# The erase scans whole tables: on the session's, which hold every other test's items by the time
# the suite gets here, a job took minutes; on the module's own, it reads these tests' items.
people = people_on_tables_of_their_own("erase-pages")


@pytest.fixture
def exports(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "TENANT_EXPORT_DIR", tmp_path)
    return tmp_path


def test_tenant_admins_cannot_reach_the_erase_pages(people, acme_admin, staff, exports):
    tenant = make_tenant(people)
    response = staff.post(
        "/account/operations/erase/",
        {"tenant_id": tenant.tenant_id, "confirm": tenant.tenant_id, "export_only": "on"},
    )
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").split("/")[-1]
    for url in (
        "/account/operations/erase/",
        f"/account/operations/erase/{job_id}/",
        f"/account/operations/erase/{job_id}/files/manifest/",
    ):
        assert acme_admin.get(url).status_code in (403, 404), url
    assert acme_admin.post(f"/account/operations/erase/{job_id}/erase/").status_code in (403, 404)
    assert acme_admin.post(
        "/account/operations/erase/", {"tenant_id": "acme", "confirm": "acme"}
    ).status_code in (403, 404)
    assert erasure.get_job(job_id).status == "exporting"  # nothing moved it on
    assert [job.tenant_id for job in erasure.list_jobs() if job.tenant_id == "acme"] == []
    assert erasure.run(job_id).status == "exported"  # finished here: no later worker pass finds it


def test_a_mistyped_tenant_id_starts_nothing(people, staff, exports):
    tenant = make_tenant(people)
    before = len(erasure.list_jobs())
    response = staff.post("/account/operations/erase/", {"tenant_id": tenant.tenant_id, "confirm": "acme"})
    assert response.status_code == 422
    assert "Type the tenant id exactly" in response.content.decode()
    response = staff.post(
        "/account/operations/erase/", {"tenant_id": "no-such-tenant", "confirm": "no-such-tenant"}
    )
    assert response.status_code == 422
    assert len(erasure.list_jobs()) == before
    assert staff.get("/account/operations/erase/no-such-job/").status_code == 404


def test_staff_download_the_export_then_erase(people, staff, exports):
    tenant = make_tenant(people)
    assert tenant.post("agent-x", run("exported-1"))[0] == 201
    response = staff.post(
        "/account/operations/erase/",
        {"tenant_id": tenant.tenant_id, "confirm": tenant.tenant_id, "export_only": "on"},
    )
    job_id = response["Location"].rstrip("/").split("/")[-1]
    assert staff.get(f"/account/operations/erase/{job_id}/files/executions/").status_code == 404  # not yet
    assert erasure.run(job_id).status == "exported"
    manifest = json.loads(
        b"".join(staff.get(f"/account/operations/erase/{job_id}/files/manifest/").streaming_content)
    )
    assert manifest["tables"]["executions"]["items"] == 1
    body = b"".join(staff.get(f"/account/operations/erase/{job_id}/files/executions/").streaming_content)
    (line,) = gzip.decompress(body).splitlines()
    assert json.loads(line)["execution_id"]["S"] == "exported-1"
    assert staff.get(f"/account/operations/erase/{job_id}/files/nothing-like-it/").status_code == 404
    page = staff.get(f"/account/operations/erase/{job_id}/").content.decode()
    assert "Erase " + tenant.tenant_id + " now" in page
    assert staff.post(f"/account/operations/erase/{job_id}/erase/").status_code == 302
    assert erasure.run(job_id).status == "erased"
    assert staff.post(f"/account/operations/erase/{job_id}/erase/").status_code == 302  # told, nothing done
    assert erasure.get_job(job_id).status == "erased"


def test_the_command_stops_after_its_steps_and_continues_the_job_where_it_stopped(
    people, exports, monkeypatch
):
    tenant = make_tenant(people)
    assert tenant.post("agent-c", run("by-command"))[0] == 201
    monkeypatch.setattr("builtins.input", lambda prompt: "not it")  # the operator types something else
    with pytest.raises(CommandError, match="Nothing was done"):
        call_command("erase_tenant", tenant.tenant_id, stdout=StringIO())
    out = StringIO()
    call_command("erase_tenant", tenant.tenant_id, "--yes", "--pages", "3", stdout=out)
    assert "Started erase_" in out.getvalue() and ": exporting." in out.getvalue()
    out = StringIO()
    call_command("erase_tenant", tenant.tenant_id, "--yes", stdout=out)
    assert "Continuing erase_" in out.getvalue()
    assert "executions: 1 exported, 1 erased" in out.getvalue()
    assert ": erased." in out.getvalue()
    with pytest.raises(CommandError, match="No such tenant|not found|No tenant"):
        call_command("erase_tenant", tenant.tenant_id, "--yes", stdout=StringIO())
