from django import forms


class LoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ApiKeyForm(forms.Form):
    tenant_id = forms.ChoiceField(label="Tenant")
    name = forms.CharField(max_length=80, help_text="What uses it, e.g. “support-agent prod”.")

    def __init__(self, *args, tenants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant_id"].choices = [(t.tenant_id, t.name) for t in tenants]
