"""Form helpers shared by the browser views."""

from __future__ import annotations

from django import forms

from apps.core.errors import ApplicationError


def add_application_error(form: forms.BaseForm, exc: ApplicationError) -> None:
    """Show a service's refusal on the form: field messages on their fields, the rest on top.

    The overall message goes on top too, unless it merely repeats the field messages (a
    validation summary), so the user reads the reason once, where it belongs.
    """
    unplaced: list[str] = []
    field_messages: list[str] = []
    for field, messages in exc.field_errors.items():
        for message in messages:
            field_messages.append(message)
            if field in form.fields:
                form.add_error(field, message)
            else:
                unplaced.append(message)
    is_summary = (
        bool(field_messages) and not unplaced and all(m in exc.message for m in field_messages)
    )
    if not is_summary:
        form.add_error(None, exc.message)
    for message in unplaced:
        if message not in exc.message:
            form.add_error(None, message)
