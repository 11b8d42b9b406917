"""Forms of the alerts pages; cleaning of the values themselves lives in inputs.py."""

from __future__ import annotations

from django import forms

from dashboard.alerts.inputs import RuleInput, parse_dollars, parse_thresholds
from dashboard.alerts.models import RULE_KINDS, WINDOWS, AlertChannel, AlertRule


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
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @classmethod
    def for_rule(cls, rule: AlertRule) -> RuleForm:
        return cls(
            initial={
                "name": rule.name,
                "kind": rule.kind,
                "thresholds": ", ".join(str(int(p)) for p in rule.thresholds or []),
                "subject": rule.subject,
                "limit": f"{rule.limit_micro_usd / 1_000_000:.2f}" if rule.limit_micro_usd else "",
                "window": rule.window,
                "enabled": rule.enabled,
                "version": rule.version,
            }
        )

    def rule_input(self) -> RuleInput:
        """Raises ValidationFailed naming the field (the view puts it on the form)."""
        data = self.cleaned_data
        spend = data["kind"] in ("agent_spend", "user_spend")
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
