"""Forms of the analytics pages and the query parameters of its API (same rules for both)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from django import forms

from dashboard.analytics.inputs import (
    ANY_FAILURE,
    ENVIRONMENT_PATTERN,
    ID_PATTERN,
    MONTH_PRESETS,
    PRESETS,
    TAG_PATTERN,
    ExecutionFilters,
    Period,
    PriceIn,
    chosen_period,
    execution_filters,
)
from dashboard.analytics.models import EXECUTION_STATUSES
from dashboard.core import clock
from dashboard.core.errors import ValidationFailed
from dashboard.core.forms import add_service_errors

MICRO = Decimal(1_000_000)


def _errors(form: forms.Form) -> dict[str, str]:
    return {name: " ".join(messages) for name, messages in form.errors.items()}


class PeriodForm(forms.Form):
    period = forms.TypedChoiceField(
        choices=[(str(days), f"{days} days") for days in PRESETS]
        + list(MONTH_PRESETS.items())
        + [("custom", "Custom")],
        required=False,
    )
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def period_value(self) -> Period:
        """The chosen period (the default when nothing is chosen); ValidationFailed when invalid."""
        if not self.is_valid():
            raise ValidationFailed("That period is not valid.", _errors(self))
        data = self.cleaned_data
        return chosen_period(data["period"], data["start"], data["end"], clock.now().date())


def period_from(params: Mapping) -> tuple[Period, str | None]:
    """The period asked for, and the tenant named (checked by the services, not here)."""
    return PeriodForm(params).period_value(), params.get("tenant") or None


class MetadataKeysForm(forms.Form):
    """The metadata keys a tenant counts as overview dimensions (the rules live in the service)."""

    metadata_dimensions = forms.CharField(
        label="Metadata keys counted as dimensions",
        required=False,
        max_length=250,
        help_text="Up to 5 keys, separated by commas (e.g. customer, plan). Runs recorded from now on count.",
        widget=forms.TextInput(attrs={"placeholder": "customer, plan"}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def key_list(self) -> list[str]:
        return [key.strip() for key in self.cleaned_data["metadata_dimensions"].split(",") if key.strip()]


class BudgetForm(forms.Form):
    budget = forms.DecimalField(
        label="Monthly budget (USD)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=15,
        decimal_places=2,
        help_text="Leave empty for no budget.",
        error_messages={
            "min_value": "Enter at least $0.01, or leave it empty for no budget.",
            "max_decimal_places": "Use dollars and cents (at most 2 decimals).",
            "invalid": "Enter an amount in dollars, e.g. 2500 or 2500.50.",
        },
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "e.g. 2500"}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    tenant = forms.SlugField(required=False, max_length=40, widget=forms.HiddenInput)

    def budget_micro_usd(self) -> int | None:
        amount = self.cleaned_data["budget"]
        if amount is None:
            return None
        return int((amount * MICRO).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class ExecutionFilterForm(forms.Form):
    agent = forms.RegexField(regex=ID_PATTERN, required=False, max_length=128)
    status = forms.ChoiceField(
        choices=[("", "Any status"), (ANY_FAILURE, "Any failure")]
        + [(s, s.title()) for s in EXECUTION_STATUSES],
        required=False,
    )
    user = forms.RegexField(regex=ID_PATTERN, required=False, max_length=128)
    model = forms.RegexField(regex=ID_PATTERN, required=False, max_length=128)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    environment = forms.RegexField(regex=ENVIRONMENT_PATTERN, required=False, max_length=40)
    tag = forms.RegexField(regex=TAG_PATTERN, required=False, max_length=40)
    session_id = forms.RegexField(regex=ID_PATTERN, required=False, max_length=128)
    tenant = forms.SlugField(required=False, max_length=40)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", "The start must be on or before the end.")
        return data

    def filters(self, agent_id: str | None = None) -> ExecutionFilters:
        if not self.is_valid():
            raise ValidationFailed("Those filters are not valid.", _errors(self))
        data = self.cleaned_data
        return execution_filters(
            agent_id or data["agent"],
            data["status"],
            data["user"],
            data["model"],
            data["start"],
            data["end"],
            environment=data["environment"],
            tag=data["tag"],
            session_id=data["session_id"],
        )


RATE_HELP = "US dollars per 1 million tokens"


class PriceForm(forms.Form):
    """A staff price; the values are checked by `inputs.PriceIn` (one rule for the page and the API)."""

    model = forms.CharField(
        max_length=128,
        help_text="As sent (gpt-4o-mini-2024-07-18), a catalogue name (gpt-4o-mini) or a pattern with * (gpt-4o*).",
    )
    provider = forms.CharField(
        max_length=64, required=False, help_text="Optional: openai, anthropic, aws, google…"
    )
    tenant = forms.ChoiceField(choices=[("", "Every tenant (override)")], required=False, label="Applies to")
    effective_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    input = forms.CharField(max_length=20, label="Input", help_text=RATE_HELP)
    cache_read = forms.CharField(
        max_length=20, required=False, label="Cached input", help_text="Empty: as input"
    )
    cache_write = forms.CharField(
        max_length=20, required=False, label="Cache write", help_text="Empty: as input"
    )
    output = forms.CharField(max_length=20, label="Output", help_text=RATE_HELP)
    reasoning = forms.CharField(
        max_length=20, required=False, label="Reasoning", help_text="Empty: as output"
    )
    note = forms.CharField(max_length=500, required=False, help_text="Why: contract, discount, list price…")
    price_id = forms.CharField(required=False, widget=forms.HiddenInput)
    scope = forms.CharField(required=False, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, tenants: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].choices = [("", "Every tenant (override)")] + [
            (tenant_id, f"{name} (contract)") for tenant_id, name in tenants
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.value = PriceIn.clean(**{**data, "tenant_id": data.get("tenant") or None})
        except ValidationFailed as exc:
            add_service_errors(self, exc)
        return data


class RepriceForm(forms.Form):
    tenant = forms.ChoiceField(choices=[("", "Every tenant")], required=False)
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    include_client = forms.BooleanField(
        required=False, label="Also re-price costs the clients sent (normally kept as sent)"
    )

    def __init__(self, *args, tenants: list[tuple[str, str]] = (), **kwargs):
        # Beside the price form on one page: its own ids, so each label names its own field.
        super().__init__(*args, auto_id="reprice_%s", **kwargs)
        self.fields["tenant"].choices = [("", "Every tenant")] + list(tenants)
