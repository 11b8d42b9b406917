"""Forms of the analytics pages and the query parameters of its API (same rules for both)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from django import forms

from dashboard.analytics.inputs import (
    ANY_FAILURE,
    DEFAULT_DAYS,
    MONTH_PRESETS,
    PRESETS,
    ExecutionFilters,
    Period,
)
from dashboard.analytics.models import EXECUTION_STATUSES
from dashboard.analytics.services import ID_PATTERN
from dashboard.core import clock
from dashboard.core.errors import ValidationFailed

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
        today = clock.now().date()
        data = self.cleaned_data
        if data["start"] or data["end"] or data["period"] == "custom":
            if not (data["start"] and data["end"]):
                raise ValidationFailed(
                    "Choose both ends of the date range.", {"start": "Pick a start and an end date."}
                )
            return Period.custom(data["start"], data["end"], today)
        if data["period"] in MONTH_PRESETS:
            return Period.month(data["period"], today)
        return Period.last(int(data["period"] or DEFAULT_DAYS), today)


def period_from(params: Mapping) -> tuple[Period, str | None]:
    """The period asked for, and the tenant named (checked by the services, not here)."""
    return PeriodForm(params).period_value(), params.get("tenant") or None


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
        return ExecutionFilters(
            agent_id=agent_id or data["agent"] or None,
            status=data["status"] or None,
            user_id=data["user"] or None,
            model=data["model"] or None,
            start=data["start"],
            end=data["end"],
        )
