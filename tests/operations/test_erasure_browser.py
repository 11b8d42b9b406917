"""Staff export and erase a tenant in the browser: start (typing the tenant id), watch the progress the
page polls while the background worker's passes run, see it erased."""

from __future__ import annotations

from django.conf import settings
from playwright.sync_api import expect

from dashboard.accounts.models import Tenant
from dashboard.alerts.scheduler import one_pass
from dashboard.operations import erasure
from tests.analytics.conftest import make_tenant, run
from tests.conftest import people_on_tables_of_their_own

# The erase scans whole tables: on the session's, which hold every other test's items by the time
# the suite gets here, a job took minutes; on the module's own, it reads these tests' items.
people = people_on_tables_of_their_own("erase-browser")


def test_staff_export_and_erase_a_tenant_and_watch_it_finish(people, page_as, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "TENANT_EXPORT_DIR", tmp_path)
    tenant = make_tenant(people, "Leaving tenant")
    assert tenant.post("agent-b", run("leaving-1"))[0] == 201
    page = page_as(people["staff"])
    page.goto("/account/operations/")
    page.get_by_role("link", name="Export and erase a tenant…").click()
    page.get_by_label("Tenant to export and erase").select_option(tenant.tenant_id)
    page.get_by_label("Type the tenant id to confirm").fill(tenant.tenant_id)
    page.get_by_role("button", name="Export and erase").click()
    expect(page.locator("#erase-status")).to_have_text("exporting")
    (job,) = [job for job in erasure.list_jobs() if job.tenant_id == tenant.tenant_id]
    one_pass()  # a whole pass of the background worker, which moves the job on
    # Then only the job's part of the passes, until it is done (bounded, not a fixed count).
    for _ in range(2_000):
        if erasure.get_job(job.job_id).status == "erased":
            break
        erasure.run_queued()
    # The page polls the progress and stops once the tenant is erased.
    expect(page.locator("#erase-status")).to_have_text("erased", timeout=15_000)
    expect(page.locator('[data-table="executions"] [data-count="exported"]')).to_have_text("1")
    expect(page.locator('[data-table="executions"] [data-count="erased"]')).to_have_text("1")
    expect(page.locator("#manifest-link")).to_be_visible()
    assert Tenant.count(tenant.tenant_id) == 0
