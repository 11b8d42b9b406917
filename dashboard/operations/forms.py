"""Staff's forms on the operations pages."""

from __future__ import annotations

from django import forms


class EraseTenantForm(forms.Form):
    """Start an export and erase: the tenant, chosen and then typed again, so a slip erases nothing."""

    tenant_id = forms.ChoiceField(label="Tenant to export and erase")
    confirm = forms.CharField(
        label="Type the tenant id to confirm",
        max_length=100,
        help_text="Every item of the tenant is exported, then erased for good: executions, rollups, "
        "experiments, registry, flows, templates, alerts, API keys, users and sessions.",
    )
    export_only = forms.BooleanField(required=False, label="Export only (erase later, from the job's page)")

    def __init__(self, *args, tenants: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenant_id"].choices = [("", "Choose a tenant…"), *tenants]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("tenant_id") and cleaned.get("confirm", "").strip() != cleaned["tenant_id"]:
            self.add_error("confirm", "Type the tenant id exactly as chosen above; nothing was started.")
        return cleaned
