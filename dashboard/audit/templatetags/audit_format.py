"""How the audit trail reads for people: targets as links and names, changes in words and money."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from dashboard.core.money import money

register = template.Library()

TARGET_LABELS = {
    "api_key": "API key",
    "alert_rule": "alert rule",
    "alert_channel": "alert delivery",
    "flow_node": "flow node",
    "model_version": "model version",
}
# Stored change keys as people call them.
CHANGE_LABELS = {
    "monthly_budget_micro_usd": "budget",
    "limit_micro_usd": "limit",
    "is_active": "active",
}


def target_label(target_type: str) -> str:
    return TARGET_LABELS.get(target_type, target_type.replace("_", " "))


register.filter("target_label", target_label)


def _text(value: Any, is_money: bool) -> str:
    if value is None or value == "":
        return "—"
    if is_money:
        try:
            return money(int(value))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(item, False) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_text(item, False)}" for key, item in value.items())
    return str(value)


@register.filter
def readable_changes(changes) -> list[tuple[str, str]]:
    """[(what, how)]: `("budget", "$2,500.00 → $76.00")`, `("role", "tenant_admin → moderator")`."""
    rows = []
    for key, value in (changes or {}).items():
        is_money = key.endswith("_micro_usd")
        label = CHANGE_LABELS.get(key) or (key[: -len("_micro_usd")] if is_money else key).replace("_", " ")
        if isinstance(value, list) and len(value) == 2 and (is_money or not key.endswith("s")):
            text = f"{_text(value[0], is_money)} → {_text(value[1], is_money)}"
        else:
            text = _text(value, is_money)
        rows.append((label, text))
    return rows


@register.filter
def target_name(event) -> str:
    """What the row is about, by name where the event recorded one."""
    changes = event.changes or {}
    if event.target_type == "model_version" and changes.get("model"):
        return f"{changes['model']} {changes.get('version', '')}".strip()
    if event.target_type == "tenant":
        return event.target_id
    return str(changes.get("name") or event.target_id)


@register.simple_tag(takes_context=True)
def target_url(context, event) -> str:
    """Where the audited item is seen in the dashboard ("" when it has no page, or not for this viewer)."""
    scope = context.get("scope")
    kind, target = event.target_type, event.target_id
    staff = bool(scope and scope.is_staff)
    tenant = f"?tenant={event.tenant_id}" if staff and event.tenant_id != "platform" else ""
    try:
        if kind == "template":
            return reverse("marketplace:detail", args=[target])
        if kind == "experiment":
            return reverse("experiments:experiment", args=[target])
        if kind == "run" and "/" in target:
            experiment_id, run_id = target.split("/", 1)
            return reverse("experiments:run_logs", args=[experiment_id, run_id])
        if kind == "flow_node" and "/" in target:
            flow_id, node_id = target.split("/", 1)
            return reverse("flows:node_config", args=[flow_id, node_id])
        if kind == "model":
            return reverse("registry:detail", args=[target])
        if kind == "model_version" and "@" in target:
            model_id = target.split("@", 1)[0]
            return reverse("registry:detail", args=[model_id]) + "#history"
        if kind == "alert_rule" and event.action != "alert_rule.delete":
            return reverse("alerts:edit", args=[target])
        if kind == "alert_channel":
            return reverse("alerts:rules")
        if kind == "tenant":
            return reverse("analytics:overview") + (f"?tenant={target}" if staff else "")
        if kind == "user":
            if staff:
                return reverse("accounts:user_edit", args=[target])
            return reverse("audit:trail") + f"?actor={target}"
        if kind == "api_key" and staff:
            return reverse("apikeys:list") + tenant
    except NoReverseMatch:
        return ""
    return ""
