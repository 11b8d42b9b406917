"""Forms of the alerts pages; cleaning of the values themselves lives in inputs.py."""

from __future__ import annotations

from django import forms

from dashboard.alerts.inputs import RuleInput, parse_dollars, parse_level, parse_thresholds
from dashboard.alerts.metrics import show
from dashboard.alerts.models import (
    METRIC_WINDOWS,
    METRICS,
    NO_DATA,
    RULE_KINDS,
    SCOPES,
    WINDOWS,
    AlertChannel,
    AlertRule,
)
from dashboard.core.errors import ValidationFailed
from dashboard.core.forms import add_service_errors


class RuleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    kind = forms.ChoiceField(label="Kind", choices=list(RULE_KINDS.items()))
    thresholds = forms.CharField(
        label="Thresholds (% of the monthly budget)",
        required=False,
        max_length=100,
        help_text="Budget rules: e.g. 50, 80, 100. Empty: 50, 80, 100.",
    )
    subject = forms.CharField(
        label="Agent or user id",
        required=False,
        max_length=200,
        help_text="Spend rules: one agent or user id; empty watches each one.",
    )
    limit = forms.CharField(label="Limit (USD)", required=False, max_length=30, help_text="Spend rules.")
    window = forms.ChoiceField(label="Window", choices=list(WINDOWS.items()), initial="month")
    metric = forms.ChoiceField(label="Metric", choices=list(METRICS.items()), initial="cost", required=False)
    scope = forms.ChoiceField(label="Of", choices=list(SCOPES.items()), initial="tenant", required=False)
    scope_value = forms.CharField(
        label="Agent, model, user, environment or tag",
        required=False,
        max_length=200,
        help_text="Empty: each one with executions in the window.",
    )
    metric_window = forms.ChoiceField(
        label="Over",
        choices=list(METRIC_WINDOWS.items()),
        initial="day",
        required=False,
        help_text="The last hour or 24 hours: whole UTC hours, this one and the 1 or 24 before.",
    )
    warning = forms.CharField(
        label="Warning level",
        required=False,
        max_length=30,
        help_text="Dollars for cost, a percentage for the error rate, ms for p95, a count for executions.",
    )
    critical = forms.CharField(label="Critical level", required=False, max_length=30)
    no_data = forms.ChoiceField(
        label="With no data", choices=list(NO_DATA.items()), initial="ok", required=False
    )
    renotify_minutes = forms.IntegerField(
        label="Remind every (minutes)",
        required=False,
        min_value=0,
        max_value=7 * 24 * 60,
        help_text="While still over a level; 0 or empty: never.",
    )
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @classmethod
    def for_rule(cls, rule: AlertRule) -> RuleForm:
        metric = rule.kind == "metric"

        def level(value) -> str:
            if value is None:
                return ""
            text = show(rule.metric, int(value))
            return text.replace("$", "").replace(" %", "").replace(" ms", "").replace(",", "")

        return cls(
            initial={
                "metric": rule.metric or "cost",
                "scope": rule.scope or "tenant",
                "scope_value": rule.subject if metric else "",
                "metric_window": rule.window if metric else "day",
                "warning": level(rule.warning) if metric else "",
                "critical": level(rule.critical) if metric else "",
                "no_data": rule.no_data or "ok",
                "renotify_minutes": int(rule.renotify_minutes or 0),
                "name": rule.name,
                "kind": rule.kind,
                "thresholds": ", ".join(str(int(p)) for p in rule.thresholds or []),
                "subject": rule.subject if not metric else "",
                "limit": f"{rule.limit_micro_usd / 1_000_000:.2f}" if rule.limit_micro_usd else "",
                "window": rule.window if not metric else "month",
                "enabled": rule.enabled,
                "version": rule.version,
            }
        )

    METRIC_FIELDS = {"subject": "scope_value", "window": "metric_window"}

    def add_service_errors(self, exc) -> None:
        """The service's field names, on this form's fields (a metric rule's subject and window
        have fields of their own here)."""
        if exc.fields and self.cleaned_data.get("kind") == "metric":
            exc.fields = {self.METRIC_FIELDS.get(name, name): text for name, text in exc.fields.items()}
        add_service_errors(self, exc)

    def rule_input(self) -> RuleInput:
        """Raises ValidationFailed naming the field (the view puts it on the form)."""
        data = self.cleaned_data
        spend = data["kind"] in ("agent_spend", "user_spend")
        if data["kind"] == "metric":
            metric = data["metric"] or "cost"
            errors: dict[str, str] = {}
            levels = {}
            for field in ("warning", "critical"):
                try:
                    levels[field] = parse_level(metric, data[field], field)
                except ValidationFailed as exc:
                    errors.update(exc.fields)
            if errors:
                raise ValidationFailed("The rule is not valid; nothing was saved.", errors)
            return RuleInput(
                name=data["name"],
                kind="metric",
                subject=data["scope_value"].strip(),
                window=data["metric_window"] or "day",
                enabled=data["enabled"],
                metric=metric,
                scope=data["scope"] or "tenant",
                warning=levels["warning"],
                critical=levels["critical"],
                no_data=data["no_data"] or "ok",
                renotify_minutes=data["renotify_minutes"] or 0,
            )
        return RuleInput(
            name=data["name"],
            kind=data["kind"],
            thresholds=parse_thresholds(data["thresholds"]) if data["kind"] == "budget" else (),
            subject=data["subject"].strip(),
            limit_micro_usd=parse_dollars(data["limit"]) if spend else None,
            window=data["window"],
            enabled=data["enabled"],
        )


class ChannelForm(forms.Form):
    webhook_url = forms.CharField(
        label="Webhook URL",
        required=False,
        max_length=600,
        help_text="We POST signed JSON here when a rule fires (Standard Webhooks).",
    )
    slack_url = forms.CharField(
        label="Slack incoming webhook URL",
        required=False,
        max_length=600,
        help_text="From a Slack app's Incoming Webhooks page (https://hooks.slack.com/services/…).",
    )
    teams_url = forms.CharField(
        label="Microsoft Teams Workflows webhook URL",
        required=False,
        max_length=600,
        help_text="From the Teams workflow “Post to a channel when a webhook request is received”.",
    )
    email = forms.CharField(label="Email address", required=False, max_length=320)
    new_secret = forms.BooleanField(label="Make a new signing secret", required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @classmethod
    def for_channel(cls, channel: AlertChannel) -> ChannelForm:
        return cls(
            initial={
                "webhook_url": channel.webhook_url,
                "slack_url": channel.slack_url,
                "teams_url": channel.teams_url,
                "email": channel.email,
                "version": channel.version or 0,
            }
        )


class BudgetRequestForm(forms.Form):
    amount = forms.CharField(label="Monthly budget you need (USD)", max_length=30)
    reason = forms.CharField(label="Why", max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def amount_micro_usd(self) -> int | None:
        return parse_dollars(self.cleaned_data["amount"], "amount")


class BudgetDecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("refuse", "Refuse")])
    amount = forms.CharField(label="New monthly budget (USD)", required=False, max_length=30)
    reason = forms.CharField(label="Reason", required=False, max_length=1000)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def amount_micro_usd(self) -> int | None:
        return parse_dollars(self.cleaned_data["amount"], "amount")
