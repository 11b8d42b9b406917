from django import forms

from dashboard.apikeys.services import PRICES_KEYS


class ApiKeyForm(forms.Form):
    tenant_id = forms.ChoiceField(label="Tenant")
    name = forms.CharField(max_length=80, help_text="What uses it, e.g. “support-agent prod”.")
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Optional. The key works through this day (UTC), then answers 401 “expired”.",
    )

    def __init__(self, *args, tenants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant_id"].choices = [(t.tenant_id, t.name) for t in tenants] + [
            (PRICES_KEYS, "Platform: model prices only (no tenant's data)")
        ]
