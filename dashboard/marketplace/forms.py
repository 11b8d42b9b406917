"""Forms of the marketplace pages. They only collect input: the services validate it."""

from __future__ import annotations

import json

from django import forms

from dashboard.flows import inputs as flow_inputs
from dashboard.marketplace import services
from dashboard.marketplace.inputs import CATEGORIES, MAX_DESCRIPTION, MAX_NAME, VISIBILITIES

DEFINITION_HELP = (
    'JSON: {"nodes": [{"id": "n1", "type": "llm", "label": "Answer"}, …], '
    '"edges": [{"source": "n1", "target": "n2"}, …]}. At most 40 nodes and 50 edges.'
)
EXAMPLE_DEFINITION = """{
  "nodes": [
    {"id": "n1", "type": "prompt", "label": "Question"},
    {"id": "n2", "type": "llm", "label": "Answer"},
    {"id": "n3", "type": "output", "label": "Reply"}
  ],
  "edges": [
    {"source": "n1", "target": "n2"},
    {"source": "n2", "target": "n3"}
  ]
}"""


class TemplateForm(forms.Form):
    name = forms.CharField(required=False, widget=forms.TextInput(attrs={"maxlength": MAX_NAME}))
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_DESCRIPTION})
    )
    category = forms.ChoiceField(required=False, choices=[("", "Choose a category…"), *CATEGORIES.items()])
    tags = forms.CharField(
        required=False, help_text="Comma-separated, e.g. rag, support, triage (at most 8)."
    )
    visibility = forms.ChoiceField(
        required=False,
        choices=list(VISIBILITIES.items()),
        widget=forms.RadioSelect,
        help_text="Public templates are listed for every tenant once a moderator approves them. "
        "Saving changes to a public template sends it back to review.",
    )
    definition = forms.CharField(
        label="Flow definition",
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        help_text=DEFINITION_HELP,
    )
    version = forms.CharField(required=False, widget=forms.HiddenInput)


def definition_text(template) -> str:
    """A template's definition as the form's JSON text."""
    return json.dumps(template.definition, indent=2)


def add_input_fields(form: forms.Form, inputs, help_text: str) -> None:
    """One field per secret a template leaves out (`flows.inputs.InputField`); the services check them."""
    for item in inputs:
        widget = (
            forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"})
            if item.lines
            else forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=True)
        )
        form.fields[item.field_name] = forms.CharField(
            label=item.title,
            required=False,
            widget=widget,
            help_text=("Lines added to the template's own. " if item.lines else "") + help_text,
        )


class UseForm(forms.Form):
    project_id = forms.ChoiceField(label="Project")
    name = forms.CharField(label="Flow name", required=False, max_length=120)

    def __init__(self, *args, projects=(), inputs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project_id"].choices = [(p.project_id, p.name) for p in projects]
        add_input_fields(self, inputs, "Required: the template leaves this secret out.")


class FlowTemplateForm(TemplateForm):
    """Saving a flow as a template: the flow itself is the definition."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["definition"]
        del self.fields["version"]


class ApplyUpdateForm(forms.Form):
    take_template_settings = forms.BooleanField(
        label="Use the template's node settings instead of mine",
        required=False,
        help_text="Unticked, your nodes keep the settings you gave them; new nodes get the template's.",
    )
    template_version = forms.IntegerField(widget=forms.HiddenInput)
    flow_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, inputs=(), **kwargs):
        super().__init__(*args, **kwargs)
        add_input_fields(
            self, inputs, "Needed where a node takes the template's settings; blank keeps yours."
        )


def update_inputs(template) -> list:
    """The secrets a template's newer version leaves out, one form field each (flows.inputs)."""
    return flow_inputs.input_fields(template.definition, services.secret_inputs(template))


def update_form(update, flow) -> ApplyUpdateForm:
    """The form under a flow's "Update available" panel, for the version on offer."""
    return ApplyUpdateForm(
        inputs=update_inputs(update.template),
        initial={"template_version": update.template.version, "flow_version": flow.version},
    )
