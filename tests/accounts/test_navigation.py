import re

import pytest


def nav_labels(client) -> list[str]:
    html = client.get("/").content.decode()
    return [
        label.strip()
        for label in re.findall(r'class="nav-link[^"]*"[^>]*>\s*<span[^>]*>[^<]*</span>([^<]+)</a>', html)
    ]


def test_a_tenant_admin_sees_their_areas_but_no_platform_tools(acme_admin):
    labels = nav_labels(acme_admin)
    assert "Cost analytics" in labels and "Models" in labels and "Audit trail" in labels
    assert "Moderation" not in labels and "API keys" not in labels and "Users" not in labels


def test_a_moderator_sees_the_catalogue_and_no_cost_data(moderator):
    labels = nav_labels(moderator)
    assert labels == ["Overview", "Templates", "Moderation"]


def test_staff_see_every_area(staff):
    labels = nav_labels(staff)
    for label in (
        "Cost analytics",
        "Templates",
        "Moderation",
        "Models",
        "Experiments",
        "Flows",
        "Audit trail",
        "Users",
        "API keys",
        "Tables",
    ):
        assert label in labels


@pytest.mark.parametrize("path", ["/account/api-keys/", "/account/users/", "/account/tables/"])
def test_staff_only_pages_refuse_a_tenant_admin(acme_admin, path):
    response = acme_admin.get(path)
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_a_moderator_cannot_open_cost_analytics_or_the_audit_trail(moderator):
    assert moderator.get("/analytics/").status_code == 403
    assert moderator.get("/account/audit/").status_code == 403


def test_only_the_most_specific_entry_is_highlighted(acme_admin):
    html = acme_admin.get("/analytics/executions/").content.decode()
    active = re.findall(r'class="nav-link active"[^>]*>\s*<span[^>]*>[^<]*</span>([^<]+)</a>', html)
    assert [label.strip() for label in active] == ["Executions"]
