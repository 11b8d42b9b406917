"""What of a tenant the marketplace keeps, for staff's export and erase (dashboard.operations.erasure):
its templates, their search keywords, and the ratings on its templates or given by its people (the
ratings first: they are found through the templates and users)."""

from __future__ import annotations

from collections.abc import Callable

from dashboard.accounts.erasure import user_ids_of_tenant
from dashboard.dynamo.erase import TenantTable
from dashboard.marketplace.models import AgentTemplate, SearchToken, TemplateRating
from dashboard.marketplace.queries import template_ids_of_tenant


def _ratings_of_tenant(tenant_id: str) -> Callable[[dict], bool]:
    templates = template_ids_of_tenant(tenant_id)
    users = user_ids_of_tenant(tenant_id)
    return lambda raw: raw["template_id"]["S"] in templates or raw["user_id"]["S"] in users


def tenant_tables() -> list[TenantTable]:
    return [
        TenantTable(
            "template-ratings",
            TemplateRating,
            lambda t: TemplateRating.template_id.exists(),
            _ratings_of_tenant,
        ),
        TenantTable("template-search-tokens", SearchToken, lambda t: SearchToken.tenant_id == t),
        TenantTable("templates", AgentTemplate, lambda t: AgentTemplate.tenant_id == t),
    ]
