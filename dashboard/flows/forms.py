"""Node configuration forms, generated from the node type's JSON Schema.

The Django fields only turn text into values (and carry bounds into the HTML); the schema decides
what is valid, so the form, the raw JSON editor and the API report the same errors.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.urls import reverse

from dashboard.core.errors import DashboardError
from dashboard.core.inputs import clean_json_text
from dashboard.flows.node_types import SECRET_MASK, ConfigError, FieldSpec, NodeType

FORM_JSON_MAX_BYTES = 400_000  # what fits one DynamoDB item

VERSION_FIELD = "_version"
EDITOR_FIELD = "_editor"
CLEAR_SUFFIX = "__clear"  # the "remove the stored secret" box of a secret field

MESSAGES = {
    "required": "This setting is required.",
    "min_value": "Must be at least %(limit_value)s.",
    "max_value": "Must be at most %(limit_value)s.",
}


def error_id(name: str) -> str:
    return "err-" + name.replace(".", "-")


def _number_text(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _form_field(spec: FieldSpec) -> forms.Field:
    schema = spec.schema
    common = {"label": spec.label, "help_text": spec.help_text, "required": False}
    attrs: dict[str, Any] = {}
    if spec.placeholder:
        attrs["placeholder"] = spec.placeholder
    if spec.widget == "select":
        choices = [(_number_text(option), str(option).replace("_", " ")) for option in schema["enum"]]
        if not spec.required:
            choices.insert(0, ("", "—"))
        messages = {
            "invalid_choice": f"Choose one of: {', '.join(str(option) for option in schema['enum'])}."
        }
        if spec.kind == "integer":
            return forms.TypedChoiceField(
                choices=choices, coerce=int, empty_value=None, error_messages=messages, **common
            )
        return forms.ChoiceField(choices=choices, error_messages=messages, **common)
    if spec.widget == "checkbox":
        return forms.BooleanField(**common)
    if spec.widget == "number":
        bounds = {"min_value": schema.get("minimum"), "max_value": schema.get("maximum")}
        if spec.kind == "integer":
            messages = {**MESSAGES, "invalid": "Must be a whole number."}
            return forms.IntegerField(**bounds, error_messages=messages, **common)
        messages = {**MESSAGES, "invalid": "Must be a number."}
        attrs["step"] = "any"
        return forms.FloatField(
            **bounds, widget=forms.NumberInput(attrs=attrs), error_messages=messages, **common
        )
    if spec.widget == "lines":
        attrs["rows"] = 3
        return forms.CharField(widget=forms.Textarea(attrs=attrs), strip=False, **common)
    if spec.widget == "password":
        attrs["autocomplete"] = "new-password"
        return forms.CharField(widget=forms.PasswordInput(attrs=attrs, render_value=True), **common)
    if spec.widget in ("textarea", "code"):
        attrs["rows"] = 8 if spec.widget == "code" else 4
        if spec.widget == "code":
            attrs.update({"spellcheck": "false", "class": "code"})
        return forms.CharField(widget=forms.Textarea(attrs=attrs), strip=False, **common)
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


def _lookup(config: Any, dotted: str) -> Any:
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _initial_value(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return "" if spec.widget != "checkbox" else False
    if spec.secret:
        return SECRET_MASK if value else ""
    if spec.widget == "lines" and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if spec.widget == "select" or spec.widget == "number":
        return (
            _number_text(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )
    return value


def _line_item(spec: FieldSpec, text: str) -> Any:
    kind = spec.schema.get("items", {}).get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text  # the schema reports it as the wrong type, at its own index
    return text


def top_errors(form: forms.Form) -> list[str]:
    """Errors no visible field shows: the form's own, and a hidden version field's (a tampered post)."""
    hidden = [f"{field.name}: {error}" for field in form.hidden_fields() for error in field.errors]
    return [str(error) for error in form.non_field_errors()] + hidden


def _keep_stored_choice(field: forms.ChoiceField, value: Any) -> None:
    """A stored value the schema no longer allows stays visible (and flagged) instead of silently becoming another."""
    if str(value) not in {str(key) for key, _label in field.choices}:
        field.choices = [*field.choices, (str(value), f"{value} (not allowed)")]


class NodeConfigForm(forms.Form):
    """One field per leaf of the schema (nested objects flattened to dotted names)."""

    def __init__(
        self,
        node_type: NodeType,
        *args: Any,
        config: Any = None,
        version: int = 0,
        known_errors: list[ConfigError] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.node_type = node_type
        self.specs = {spec.name: spec for spec in node_type.fields()}
        self.config_errors: list[ConfigError] = []
        # The stored configuration's problems, shown before anyone types (an unbound form has no errors).
        self.known_errors = known_errors or []
        validate_url = reverse("flows:validate", args=[node_type.name])
        for name, spec in self.specs.items():
            field = _form_field(spec)
            value = _lookup(config or {}, name)
            if spec.secret and value:
                # The mask (or a blank) keeps a stored secret, so removing one takes its own box.
                self.fields[name + CLEAR_SUFFIX] = forms.BooleanField(
                    required=False, label="Remove the stored secret"
                )
            if value is None:
                value = spec.schema.get("default")  # a setting never saved shows what the node runs with
            field.initial = _initial_value(spec, value)
            if isinstance(field, forms.ChoiceField) and value is not None:
                _keep_stored_choice(field, field.initial)
            field.widget.attrs.update(
                {
                    "hx-post": validate_url,
                    "hx-trigger": "change" if spec.widget == "checkbox" else "input changed delay:400ms",
                    "hx-include": "closest form",
                    "hx-swap": "none",  # the answer updates each field's error out of band
                    "aria-describedby": error_id(name),
                }
            )
            self.fields[name] = field
        self.fields[VERSION_FIELD] = forms.IntegerField(
            widget=forms.HiddenInput, initial=version, min_value=0
        )
        self.fields[EDITOR_FIELD] = forms.CharField(widget=forms.HiddenInput, initial="form", required=False)

    def message_for(self, name: str) -> str:
        if self.is_bound:
            return (self.errors.get(name) or [""])[0]
        return next((error.message for error in self.known_errors if error.field == name), "")

    def other_problems(self) -> list[str]:
        """Problems no field shows: non-field errors, or stored settings the schema does not know."""
        if self.is_bound:
            return top_errors(self)
        return [
            f"{error.path}: {error.message} Saving this form leaves it out."
            for error in self.known_errors
            if error.field not in self.specs
        ]

    def groups(self) -> list[tuple[str | None, list[dict[str, Any]]]]:
        """Bound fields in display order, grouped by the nested object they belong to."""
        grouped: list[tuple[str | None, list[dict[str, Any]]]] = []
        for name, spec in self.specs.items():
            if not grouped or grouped[-1][0] != spec.group:
                grouped.append((spec.group, []))
            grouped[-1][1].append(
                {
                    "field": self[name],
                    "clear": self[name + CLEAR_SUFFIX] if name + CLEAR_SUFFIX in self.fields else None,
                    "spec": spec,
                    "error_id": error_id(name),
                    "message": self.message_for(name),
                }
            )
        return grouped

    def to_config(self) -> dict[str, Any]:
        """The configuration the cleaned fields describe (a field with its own error is left out)."""
        config: dict[str, Any] = {}
        for name, spec in self.specs.items():
            if name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            if spec.widget == "checkbox":
                value = bool(value)
            elif spec.widget == "lines":
                value = [_line_item(spec, line.strip()) for line in value.splitlines() if line.strip()]
            elif spec.secret and value in ("", SECRET_MASK):
                if self.cleaned_data.get(name + CLEAR_SUFFIX):
                    continue  # left out: the save drops the stored secret
                value = SECRET_MASK  # blank keeps the stored secret
            elif value in (None, ""):
                continue
            *heads, key = name.split(".")
            node = config
            for head in heads:
                node = node.setdefault(head, {})
            node[key] = value
        return config

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        config = self.to_config()
        self.config_errors = self.node_type.validate(self.node_type.without_masked_secrets(config))
        for error in self.config_errors:
            if error.field in self.specs:
                if error.field not in self.errors:
                    self.add_error(error.field, error.message)
            else:
                self.add_error(None, f"{error.path}: {error.message}")
        cleaned["config"] = config
        return cleaned

    def field_messages(self) -> list[tuple[str, str]]:
        """(error element id, message or "") for every field, as the inline validation swaps them."""
        return [(error_id(name), self.message_for(name)) for name in self.specs]


class RawConfigForm(forms.Form):
    """The power users' view: the whole configuration as JSON, checked by the same schema."""

    config_json = forms.CharField(
        label="Configuration (JSON)",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code json-editor"}),
    )

    def __init__(
        self,
        node_type: NodeType,
        *args: Any,
        config: Any = None,
        version: int = 0,
        known_errors: list[ConfigError] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.node_type = node_type
        self.problems: list[tuple[str, str]] = [(error.path, error.message) for error in known_errors or []]
        self.fields["config_json"].initial = json.dumps(config, indent=2, ensure_ascii=False)
        self.fields["config_json"].widget.attrs.update(
            {
                "hx-post": reverse("flows:validate", args=[node_type.name]),
                "hx-trigger": "input changed delay:400ms",
                "hx-include": "closest form",
                "hx-target": "#json-problems",
                "hx-swap": "outerHTML",
                "aria-describedby": "json-problems",
            }
        )
        self.fields[VERSION_FIELD] = forms.IntegerField(
            widget=forms.HiddenInput, initial=version, min_value=0
        )
        self.fields[EDITOR_FIELD] = forms.CharField(widget=forms.HiddenInput, initial="json", required=False)

    def other_problems(self) -> list[str]:
        return top_errors(self) if self.is_bound else []

    def clean_config_json(self) -> Any:
        self.problems = []
        text = self.cleaned_data["config_json"]
        if not text.strip():
            self.problems = [("$", "Write the configuration as a JSON object.")]
            raise forms.ValidationError(self.problems[0][1])
        try:
            json.loads(text, parse_constant=float)  # only for a precise position of a syntax error
        except ValueError as exc:
            message = f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            self.problems = [("$", message)]
            raise forms.ValidationError(message) from None
        except RecursionError:
            pass  # clean_json_text below refuses the depth before parsing
        try:
            config = clean_json_text(text, max_bytes=FORM_JSON_MAX_BYTES, field="config")
        except DashboardError as exc:
            # Paths as the rest of this editor shows them: "$", "$.retry.max_attempts".
            self.problems = [
                ("$" + path.removeprefix("config"), problem) for path, problem in exc.fields.items()
            ] or [("$", exc.message)]
            raise forms.ValidationError(exc.message) from None
        errors = self.node_type.validate(self.node_type.without_masked_secrets(config))
        if errors:
            self.problems = [(error.path, error.message) for error in errors]
            raise forms.ValidationError(f"{len(errors)} setting(s) need attention.")
        return config


def apply_service_errors(form: forms.Form, errors: list) -> None:
    """Show errors the save itself found (the stored secrets it merged in, say) on the form."""
    if isinstance(form, RawConfigForm):
        form.problems = [(error.path, error.message) for error in errors]
        form.add_error("config_json", f"{len(errors)} setting(s) need attention.")
        return
    for error in errors:
        if error.field in form.fields and error.field not in form.errors:
            form.add_error(error.field, error.message)
        elif error.field not in form.fields:
            form.add_error(None, f"{error.path}: {error.message}")
