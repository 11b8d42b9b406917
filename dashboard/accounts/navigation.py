"""The areas each role may see, in the order the sidebar shows them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from dashboard.accounts.scope import MODERATOR, STAFF, TENANT_ADMIN, AccessScope

EVERYONE = (STAFF, TENANT_ADMIN, MODERATOR)
ADMINS = (STAFF, TENANT_ADMIN)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...]
    icon: str
    badge: str | None = None  # URL of a small count loaded after the page (keeps page call budgets)


NAV = [
    NavItem("Overview", "home", EVERYONE, "◧"),
    NavItem("Cost analytics", "analytics:overview", ADMINS, "◔"),
    NavItem("Executions", "analytics:executions", ADMINS, "≣"),
    NavItem("Templates", "marketplace:browse", EVERYONE, "❖"),
    NavItem("Moderation", "marketplace:queue", (STAFF, MODERATOR), "⚑"),
    NavItem("Models", "registry:list", ADMINS, "◆"),
    NavItem("Experiments", "logs:experiments", ADMINS, "⚗"),
    NavItem("Flows", "flows:list", ADMINS, "⇄"),
    NavItem("Notifications", "alerts:notifications", ADMINS, "✉", badge="alerts:unread_badge"),
    NavItem("Audit trail", "accounts:audit", ADMINS, "☰"),
    NavItem("Users", "accounts:users", (STAFF,), "☺"),
    NavItem("API keys", "accounts:api_keys", (STAFF,), "⚷"),
    NavItem("Tables", "accounts:tables", (STAFF,), "▦"),
    NavItem("Operations", "operations:page", (STAFF,), "♥"),
]


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    icon: str
    active: bool
    badge_url: str | None = None


def navigation_for(scope: AccessScope, path: str) -> list[NavLink]:
    visible = []
    for item in NAV:
        if scope.role not in item.roles:
            continue
        try:
            visible.append((item, reverse(item.url_name)))
        except NoReverseMatch:
            continue  # an area not installed in this build
    # The most specific entry wins: /analytics/executions/ lights "Executions", not also "Cost analytics".
    matches = [url for _item, url in visible if path == url or (url != "/" and path.startswith(url))]
    current = max(matches, key=len, default=None)
    return [
        NavLink(item.label, url, item.icon, url == current, reverse(item.badge) if item.badge else None)
        for item, url in visible
    ]
