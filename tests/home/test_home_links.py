"""Everything the overview names is a link to it (plain hrefs: they work without JavaScript)."""

import re

from dashboard.accounts.access import scope_for_user
from dashboard.audit import services as audit
from dashboard.core import clock
from dashboard.flows.models import Project
from tests.conftest import unique


def test_projects_and_activity_rows_link_to_what_they_name(people, acme_admin):
    now = clock.now()
    project = Project(
        project_id=unique("prj"), tenant_id="acme", name="Linked skates", created_at=now, updated_at=now
    )
    project.save()
    audit.record(
        scope_for_user(people["admin of acme"]),
        "template.create",
        "template",
        "tpl-home-link",
        tenant_id="acme",
        changes={"name": "Home link template"},
    )
    html = acme_admin.get("/").content.decode()
    assert f'<a href="/flows/?project={project.project_id}">Linked skates</a>' in html
    assert '<a href="/templates/tpl-home-link/">Home link template</a>' in html
    assert re.search(r'<a href="/analytics/executions/\?start=\d{4}-\d\d-\d\d">Executions</a>', html)
    assert 'href="/account/audit/"' in html


def test_sign_ins_stay_out_of_the_latest_activity(people, acme_admin):
    user = people["admin of acme"]
    audit.record(scope_for_user(user), "template.create", "template", "tpl-before", tenant_id="acme")
    audit.record(scope_for_user(user), "session.login", "user", user.user_id, tenant_id="acme")
    html = acme_admin.get("/").content.decode()
    assert "session.login" not in html


def test_the_queue_links_to_the_review_queue(moderator):
    html = moderator.get("/").content.decode()
    assert '<a href="/templates/moderation/">Moderation queue</a>' in html
