"""Form helpers shared by the browser views."""

from __future__ import annotations

from django import forms

from apps.core.errors import ApplicationError


def add_application_error(form: forms.BaseForm, exc: ApplicationError) -> None:
    """Show a service's refusal on the form: field messages on their fields, the rest on top."""
    unplaced = []
    for field, messages in exc.field_errors.items():
        target = field if field in form.fields else None
        for message in messages:
            if target is None:
                unplaced.append(f"{field}: {message}" if field != "__all__" else message)
            else:
                form.add_error(target, message)
    if unplaced or not exc.field_errors:
        form.add_error(None, exc.message)
    for message in unplaced:
        if message != exc.message:
            form.add_error(None, message)
