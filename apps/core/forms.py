"""Form helpers shared by the browser views."""

from __future__ import annotations

from django import forms

from apps.core.errors import ApplicationError
from apps.core.validators import refuse_control_characters


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


class ReferenceChoiceField(forms.ModelChoiceField):
    """A choice of one object by a name (slug, username, code) or id, refusing control
    characters before the lookup: PostgreSQL refuses NUL in a query, which would otherwise
    escape the form as a server error instead of a message on the field."""

    def to_python(self, value):
        refuse_control_characters(value)
        return super().to_python(value)


class ReferenceMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Several objects by name or id; control characters refused before the lookup."""

    def clean(self, value):
        refuse_control_characters(value)
        return super().clean(value)


def signature_password_field(meaning: str) -> forms.CharField:
    """The password re-entered as an electronic signature of a production change, as an
    approval decision is signed (checked by ``accounts.signatures.sign``)."""
    return forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=f"Re-entering your password signs {meaning} electronically.",
    )


class SignedFormMixin:
    """A form signed electronically with its ``password`` field, or, given
    ``provider_name``, by signing in again at that identity provider: then there is no
    password to re-enter and the field is gone (``accounts.signature_flow`` sends the
    browser there on submit)."""

    def __init__(self, *args, provider_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_name = provider_name
        if provider_name:
            self.fields.pop("password", None)


def name_empty_choices(form: forms.BaseForm, **labels: str) -> None:
    """Replace Django's "---------" empty choice with words: ``labels[name]`` when given,
    else "Choose…" for a required field and "Not set" for an optional one."""
    for name, field in form.fields.items():
        words = labels.get(name) or ("Choose…" if field.required else "Not set")
        if isinstance(field, forms.ModelChoiceField) and field.empty_label == "---------":
            field.empty_label = words
        elif isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            choices = list(field.choices)
            if choices and choices[0] == ("", "---------"):
                field.choices = [("", words), *choices[1:]]
