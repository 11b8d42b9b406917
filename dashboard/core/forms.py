"""The one bridge from a service's error to a Django form: the message on its field, or on the form."""

from __future__ import annotations

import re

from django import forms

from dashboard.core.errors import DashboardError


def add_service_errors(form: forms.Form, exc: DashboardError) -> None:
    """Each of `exc.fields` goes on the form field of that name; a path inside a field's JSON
    (`definition.nodes[2].type`) goes on that field with the rest of its path; anything else, and a bare
    error's message, goes on the form."""
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for name, message in exc.fields.items():
        head, rest = _split(name)
        if name in form.fields and not form.fields[name].widget.is_hidden:
            form.add_error(name, message)
        elif rest and head in form.fields:
            form.add_error(head, f"{rest}: {message}")
        else:
            form.add_error(None, message)


def _split(path: str) -> tuple[str, str]:
    match = re.match(r"([^.\[]+)\.?(.*)", path)
    return (match.group(1), match.group(2)) if match else (path, "")
