import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from dashboard.core import clock
from dashboard.dynamo import base, local
from dashboard.flows.models import Project
from tests.conftest import unique


def test_a_tenant_admin_sees_their_tenants_recent_work_only(people, acme_admin):
    now = clock.now()
    mine = Project(
        project_id=unique("prj"), tenant_id="acme", name="Acme rocket skates", created_at=now, updated_at=now
    )
    theirs = Project(
        project_id=unique("prj"), tenant_id="globex", name="Globex doomsday", created_at=now, updated_at=now
    )
    mine.save()
    theirs.save()
    html = acme_admin.get("/").content.decode()
    assert "Acme rocket skates" in html and "Globex doomsday" not in html


def test_staff_on_all_tenants_get_the_tenant_list_and_the_queue(staff):
    html = staff.get("/").content.decode()
    card = re.search(r'<section class="card" id="tenants-card">(.*?)</section>', html, re.S)
    assert card, "the tenants card is on the page"
    # Each tenant links to its figures, beside a button that switches to it.
    for name in ("Acme Robotics", "Globex Analytics"):
        assert f"data-tenant-link>{name}</a>" in card.group(1)
        assert f'aria-label="Work inside {name}">Work inside</button>' in card.group(1)
    assert 'id="queue-card"' in html


def test_a_moderator_gets_the_queue_and_no_tenant_cards(moderator):
    html = moderator.get("/").content.decode()
    assert "Moderation queue" in html and "Recent projects" not in html and "Latest activity" not in html


def test_an_unknown_page_is_a_friendly_404(acme_admin):
    response = acme_admin.get("/no/such/page/")
    assert response.status_code == 404
    assert b"There is nothing at this address" in response.content


@pytest.fixture
def dynamodb_down():
    """Point the models at a port where nothing listens, then put them back."""
    real = settings.DYNAMODB_ENDPOINT_URL
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{local.free_port()}"
    base.reconfigure()
    yield
    settings.DYNAMODB_ENDPOINT_URL = real
    base.reconfigure()


def test_an_unreachable_database_gives_a_clear_503_page(acme_admin, dynamodb_down):
    response = acme_admin.get("/")
    assert response.status_code == 503
    assert b"cannot reach its database" in response.content
    assert b"Traceback" not in response.content


def test_an_unreachable_database_gives_the_api_a_json_503(dynamodb_down):
    response = Client().get("/api/me", HTTP_AUTHORIZATION="Bearer dtk.key_x.secret")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_the_home_page_shows_the_tenants_last_seven_days_of_cost(people):
    from dashboard.accounts import services
    from dashboard.analytics.models import ExecutionRollup
    from dashboard.analytics.rollups import pk, sk
    from tests.conftest import PASSWORD, client_for

    tenant = unique("t").replace("_", "-")[:30]
    services.create_tenant(tenant, "Fresh Co")
    admin = client_for(services.create_user(f"{unique('u')}@fresh.test", PASSWORD, "tenant_admin", tenant))
    today, old = clock.now().date(), clock.now().date() - timedelta(days=8)
    for day, cost in ((today, 2_500_000), (today - timedelta(days=6), 1_000_000), (old, 9_000_000)):
        ExecutionRollup(pk(tenant, "total"), sk(day.isoformat(), "all")).update(
            actions=[
                ExecutionRollup.count.add(1_500),
                ExecutionRollup.failures.add(2),
                ExecutionRollup.cost_micro_usd.add(cost),
            ]
        )
    html = admin.get("/").content.decode()
    card = html.split("Agent executions, last 7 days")[1].split("</section>")[0]
    assert "$3.50" in card  # the 8-day-old row is outside the week
    assert "3,000" in card and ">4<" in card
