"""The areas each role may see, in the order the sidebar shows them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from dashboard.core.scope import AccessScope, Can


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    needs: Can
    icon: str
    badge: str | None = None  # URL of a small count loaded after the page (keeps page call budgets)


NAV = [
    NavItem("Overview", "home", Can.SIGN_IN, "◧"),
    NavItem("Cost analytics", "analytics:overview", Can.TENANT_PAGES, "◔"),
    NavItem("Executions", "analytics:executions", Can.TENANT_PAGES, "≣"),
    NavItem("Templates", "marketplace:browse", Can.SIGN_IN, "❖"),
    NavItem("Moderation", "marketplace:queue", Can.MODERATE, "⚑", badge="marketplace:pending_badge"),
    NavItem("Models", "registry:list", Can.TENANT_PAGES, "◆"),
    NavItem("Datasets", "datasets:list", Can.TENANT_PAGES, "▤"),
    NavItem("Experiments", "experiments:list", Can.TENANT_PAGES, "⚗"),
    NavItem("Flows", "flows:list", Can.TENANT_PAGES, "⇄"),
    NavItem("Notifications", "alerts:notifications", Can.TENANT_PAGES, "✉", badge="alerts:unread_badge"),
    NavItem("Audit trail", "audit:trail", Can.TENANT_PAGES, "☰"),
    NavItem("Data retention", "accounts:retention", Can.TENANT_PAGES, "⌛"),
    NavItem("Users", "accounts:users", Can.RUN_PLATFORM, "☺"),
    NavItem("Invitations", "accounts:invitations", Can.TENANT_PAGES, "✚"),
    NavItem("API keys", "apikeys:list", Can.RUN_PLATFORM, "⚷"),
    NavItem("Prices", "analytics:prices", Can.RUN_PLATFORM, "$"),
    NavItem("Tables", "accounts:tables", Can.RUN_PLATFORM, "▦"),
    NavItem("Operations", "operations:page", Can.RUN_PLATFORM, "♥"),
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
        if not scope.can(item.needs):
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
