"""Who may see and do what with a template. Services call these; templates only read the answers."""

from __future__ import annotations

from dashboard.accounts.scope import API, MODERATOR, STAFF, TENANT_ADMIN, AccessScope
from dashboard.marketplace.models import AgentTemplate

OWNER_ROLES = (STAFF, TENANT_ADMIN, API)
MODERATOR_ROLES = (MODERATOR, STAFF)
RATER_ROLES = (STAFF, TENANT_ADMIN)


def can_view(scope: AccessScope, template: AgentTemplate) -> bool:
    if scope.is_staff or template.is_listed:
        return True
    if scope.is_moderator:
        return template.moderation_status != "draft"  # drafts are a tenant's private work
    return scope.tenant_id is not None and scope.tenant_id == template.tenant_id


def can_edit(scope: AccessScope, template: AgentTemplate) -> bool:
    if scope.is_staff:
        return True
    return scope.role in OWNER_ROLES and scope.tenant_id == template.tenant_id


def can_moderate(scope: AccessScope) -> bool:
    return scope.role in MODERATOR_ROLES


def can_use(scope: AccessScope) -> bool:
    return scope.role in OWNER_ROLES and scope.tenant_id is not None


def can_rate(scope: AccessScope) -> bool:
    return scope.role in RATER_ROLES
