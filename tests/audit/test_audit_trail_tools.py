"""The audit trail people can read and work with: filters, sign-ins hidden, CSV, names, money, links."""

import csv
import io

from dashboard.accounts.access import scope_for_user
from dashboard.accounts.services import create_tenant
from dashboard.audit import services as audit
from tests.conftest import client_for, unique


def a_tenant() -> str:
    tenant = unique("audit").replace("_", "-")[:30].lower()
    create_tenant(tenant, "Audit Co")
    return tenant


def test_filters_by_action_actor_and_target_type(people):
    tenant = a_tenant()
    ada, gil = scope_for_user(people["admin of acme"]), scope_for_user(people["admin of globex"])
    audit.record(ada, "template.approve", "template", "tpl-a", tenant_id=tenant)
    audit.record(gil, "budget.set", "tenant", tenant, tenant_id=tenant)
    audit.record(ada, "experiment.create", "experiment", "exp-b", tenant_id=tenant)
    client = client_for(people["staff"], _tenant_focus=tenant)
    targets = lambda **params: [e.target_id for e in client.get("/account/audit/", params).context["page"]]  # noqa: E731
    assert targets(action="template") == ["tpl-a"]
    assert targets(action="budget.set") == [tenant]
    assert targets(actor=people["admin of acme"].user_id) == ["exp-b", "tpl-a"]
    assert targets(target="experiment") == ["exp-b"]


def test_sign_ins_are_hidden_unless_asked_for(people):
    tenant = a_tenant()
    user = people["admin of acme"]
    audit.record(scope_for_user(user), "session.login", "user", user.user_id, tenant_id=tenant)
    audit.record(scope_for_user(user), "template.create", "template", "tpl-x", tenant_id=tenant)
    client = client_for(people["staff"], _tenant_focus=tenant)
    actions = lambda **params: [e.action for e in client.get("/account/audit/", params).context["page"]]  # noqa: E731
    assert actions() == ["template.create"]
    assert actions(signins="show") == ["template.create", "session.login"]
    # The form sends "show" before its ticked checkbox's "hide": ticked wins.
    assert actions(signins=["show", "hide"]) == ["template.create"]


def test_changes_read_as_words_and_money_and_people_by_name(people):
    tenant = a_tenant()
    staff = scope_for_user(people["staff"])
    audit.record(staff, "budget.set", "tenant", tenant, tenant_id=tenant,
                 changes={"monthly_budget_micro_usd": [2_500_000_000, 76_000_000]})  # fmt: skip
    audit.record(
        staff, "user.update", "user", "usr_x", tenant_id=tenant, changes={"role": "tenant_admin → moderator"}
    )
    html = client_for(people["staff"], _tenant_focus=tenant).get("/account/audit/").content.decode()
    assert "<b>budget</b> $2,500.00 → $76.00" in html
    assert "<b>role</b> tenant_admin → moderator" in html
    assert "2500000000" not in html
    assert f'<span title="{people["staff"].email}">{people["staff"].name}</span>' in html
    assert " UTC</time>" in html


def test_rows_link_to_their_targets(people):
    tenant = a_tenant()
    ada = scope_for_user(people["admin of acme"])
    audit.record(
        ada, "template.approve", "template", "tpl-linked", tenant_id=tenant, changes={"name": "Refunds"}
    )
    audit.record(ada, "model_version.promote", "model_version", "mdl-1@v3", tenant_id=tenant,
                 changes={"model": "Ranker", "version": "v3"})  # fmt: skip
    html = client_for(people["staff"], _tenant_focus=tenant).get("/account/audit/").content.decode()
    assert '<a href="/templates/tpl-linked/" data-target-link>Refunds</a>' in html
    assert '<a href="/models/mdl-1/#history" data-target-link>Ranker v3</a>' in html


def test_the_csv_holds_the_filtered_trail(people):
    tenant = a_tenant()
    ada = scope_for_user(people["admin of acme"])
    audit.record(ada, "template.create", "template", "tpl-1", tenant_id=tenant)
    audit.record(ada, "session.login", "user", "usr_1", tenant_id=tenant)
    audit.record(ada, "experiment.create", "experiment", "exp-1", tenant_id=tenant)
    response = client_for(people["staff"], _tenant_focus=tenant).get(
        "/account/audit/export.csv", {"target": "template"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["target_id"] for row in rows] == ["tpl-1"]


def test_a_tenant_admin_exports_only_their_tenants_trail(people, globex_admin):
    ada = scope_for_user(people["admin of acme"])
    target = unique("tpl")
    audit.record(ada, "template.create", "template", target, tenant_id="acme")
    assert target not in globex_admin.get("/account/audit/export.csv").content.decode()
    assert target not in globex_admin.get("/account/audit/", {"actor": ada.actor_id}).content.decode()
