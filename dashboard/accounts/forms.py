from django import forms

from dashboard.accounts.inputs import MIN_PASSWORD_LENGTH
from dashboard.core.scope import MODERATOR, ROLE_LABELS, STAFF, TENANT_ADMIN


class LoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


STALE_FORM = "This form is out of date or damaged; reload the page and make the change again."


class PersonFields(forms.Form):
    """Name, role and tenant, shared by adding and editing; the rules live in the services."""

    name = forms.CharField(max_length=80, required=False, help_text="Leave empty to use the email's name.")
    role = forms.ChoiceField(choices=[(role, ROLE_LABELS[role]) for role in (TENANT_ADMIN, MODERATOR, STAFF)])
    tenant = forms.ChoiceField(required=False, help_text="Tenant admins only.")

    def __init__(self, *args, tenants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].choices = [("", "— none —"), *((t.tenant_id, t.name) for t in tenants)]


class UserForm(PersonFields):
    """Staff add a person."""

    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(
        min_length=MIN_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=f"At least {MIN_PASSWORD_LENGTH} characters; give it to them privately.",
    )
    field_order = ["email", "name", "role", "tenant", "password"]


class UserEditForm(PersonFields):
    """Staff change a person; a new role, tenant or password ends their sessions."""

    password = forms.CharField(
        label="New password",
        required=False,
        min_length=MIN_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep theirs.",
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        error_messages={key: STALE_FORM for key in ("required", "invalid", "min_value")},
    )


class RetentionForm(forms.Form):
    """Staff set a tenant's retention (the rules between the three live in the service)."""

    executions_days = forms.IntegerField(
        min_value=1, max_value=730, label="Executions (cost records), days", help_text="Rollups are kept."
    )
    content_days = forms.IntegerField(
        min_value=1, max_value=730, label="Inputs and outputs, days", help_text="No longer than executions."
    )
    logs_days = forms.IntegerField(
        min_value=1, max_value=730, label="Run log lines, days", help_text="No longer than executions."
    )


class PasswordChangeForm(forms.Form):
    """A person changes their own password (the validators run in services.change_own_password)."""

    current = forms.CharField(
        label="Current password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new = forms.CharField(
        label="New password",
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=f"At least {MIN_PASSWORD_LENGTH} characters, not like your name or e-mail, not a common one.",
    )
    again = forms.CharField(
        label="New password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("new") and data.get("again") is not None and data["new"] != data["again"]:
            self.add_error("again", "The two new passwords differ.")
        return data


class InvitationForm(forms.Form):
    """Invite a person. Tenant admins see only the role they may grant and no tenant choice."""

    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=[(role, ROLE_LABELS[role]) for role in (TENANT_ADMIN, MODERATOR, STAFF)])
    tenant = forms.ChoiceField(required=False, help_text="Tenant admins only.")

    def __init__(self, *args, tenants=(), staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if staff:
            self.fields["tenant"].choices = [("", "— none —"), *((t.tenant_id, t.name) for t in tenants)]
        else:
            del self.fields["tenant"]
            self.fields["role"].choices = [(TENANT_ADMIN, ROLE_LABELS[TENANT_ADMIN])]


class AcceptInvitationForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, help_text="How others see you in the dashboard.")
    password = forms.CharField(
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=f"At least {MIN_PASSWORD_LENGTH} characters, not like your name or e-mail, not a common one.",
    )
    again = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("again") is not None and data["password"] != data["again"]:
            self.add_error("again", "The two passwords differ.")
        return data


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
    )


class SecondFactorPolicyForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Roles that must use a second factor",
        required=False,
        choices=[(role, ROLE_LABELS[role]) for role in (STAFF, TENANT_ADMIN, MODERATOR)],
        widget=forms.CheckboxSelectMultiple,
        help_text="People of these roles set up an authenticator app at their next sign-in.",
    )
    sso_for_staff = forms.BooleanField(
        label="Staff sign in with single sign-on only",
        required=False,
        help_text="Their passwords stop working here (needs OIDC_ISSUER configured).",
    )


class PasskeyForm(forms.Form):
    """A passkey to register: its name, and the browser's answer (filled in by static/js/passkeys.js)."""

    name = forms.CharField(
        label="Passkey name",
        max_length=60,
        help_text="Where it lives, such as “Work laptop” or “YubiKey”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    credential = forms.CharField(max_length=20_000, widget=forms.HiddenInput, required=False)


class PasskeyAnswerForm(forms.Form):
    """The browser's passkey answer at sign-in (filled in by static/js/passkeys.js)."""

    credential = forms.CharField(max_length=20_000, widget=forms.HiddenInput)
