from django import forms

from dashboard.accounts.scope import MODERATOR, ROLE_LABELS, STAFF, TENANT_ADMIN
from dashboard.accounts.services import MIN_PASSWORD_LENGTH


class LoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ApiKeyForm(forms.Form):
    tenant_id = forms.ChoiceField(label="Tenant")
    name = forms.CharField(max_length=80, help_text="What uses it, e.g. “support-agent prod”.")

    def __init__(self, *args, tenants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant_id"].choices = [(t.tenant_id, t.name) for t in tenants]


class UserForm(forms.Form):
    """Staff add a person; the role and tenant rules live in `services.create_user`."""

    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    name = forms.CharField(max_length=80, required=False, help_text="Leave empty to use the email's name.")
    role = forms.ChoiceField(choices=[(role, ROLE_LABELS[role]) for role in (TENANT_ADMIN, MODERATOR, STAFF)])
    tenant = forms.ChoiceField(required=False, help_text="Tenant admins only.")
    password = forms.CharField(
        min_length=MIN_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=f"At least {MIN_PASSWORD_LENGTH} characters; give it to them privately.",
    )

    def __init__(self, *args, tenants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].choices = [("", "— none —"), *((t.tenant_id, t.name) for t in tenants)]
