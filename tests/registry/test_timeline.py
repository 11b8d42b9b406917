"""When was what in production: each version's stretch, who started and approved it, why, and how
it ended; the same rows as CSV."""

import csv
import io

from dashboard.registry import services
from dashboard.registry.models import RegistryPolicy


def test_the_production_timeline_names_versions_people_reasons_and_downloads_as_csv(
    register, scopes, people, acme_admin
):
    staff = scopes["staff@acme"]
    model = register(versions=("1.0.0", "1.1.0"))
    services.change_status(staff, model.model_id, "1.0.0", "deploying", "production", reason="first release")
    services.change_status(staff, model.model_id, "1.0.0", "deployed", reason="smoke ok")
    services.save_policy(
        scopes["acme"], {"protected_environments": ["production"], "requesters": ["tenant_admin"]}
    )
    try:
        asked = services.change_status(
            scopes["acme"], model.model_id, "1.1.0", "deploying", "production", reason="recall up"
        )
        services.decide_request(staff, asked.request.request_id, "approve", "numbers checked")
        services.change_status(staff, model.model_id, "1.1.0", "deployed", reason="canary green")
    finally:
        RegistryPolicy.get("acme").delete()

    page = acme_admin.get(f"/models/{model.model_id}/timeline/?environment=production")
    html = page.content.decode()
    assert page.status_code == 200
    assert "still live" in html and "replaced by 1.1.0" in html and "first release" in html

    download = acme_admin.get(f"/models/{model.model_id}/timeline/?environment=production&format=csv")
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [row["version"] for row in rows] == ["1.1.0", "1.0.0"]
    newest, oldest = rows
    assert newest["live_until"] == "" and newest["started_by"] == scopes["acme"].actor_label
    assert (
        newest["approved_by"] == "staff@diatonic.test"
        and newest["change_request"] == asked.request.request_id
    )
    assert newest["reason"] == "recall up · canary green"
    assert oldest["how_it_ended"] == "replaced by 1.1.0" and oldest["live_until"] == newest["live_from"]

    empty = acme_admin.get(f"/models/{model.model_id}/timeline/?environment=dev")
    assert "Nothing has been live in dev yet" in empty.content.decode()


def test_another_tenant_gets_404(register, globex_admin):
    model = register()
    assert globex_admin.get(f"/models/{model.model_id}/timeline/").status_code == 404
    assert globex_admin.get(f"/models/{model.model_id}/timeline/?format=csv").status_code == 404
