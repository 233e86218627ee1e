"""The base of every filterset (browser lists and API): values a database can be asked about.

A list filter is text from the query string, compared with stored names or looked up as an
object (a model by slug, an owner by username). PostgreSQL refuses NUL in a query and a UTC
offset beyond ±15:59; both used to escape as server errors. Every filterset inherits
:class:`FilterSet`, whose form refuses such values with a message naming the parameter (the
API answers 400 with it, the browser shows it), before any query is made.
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters.fields import IsoDateTimeField as _IsoDateTimeField
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS

from apps.core.validators import datetime_problem, refuse_control_characters


class StorableDateTimeField(_IsoDateTimeField):
    """An ISO 8601 time PostgreSQL accepts, as UTC; an offset beyond ±15:59 is refused."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return None
        problem = datetime_problem(result)
        if problem:
            raise ValidationError(problem, code="invalid")
        return result.astimezone(UTC) if result.tzinfo is not None else result


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = StorableDateTimeField


def _guarded(clean):
    """A field's ``clean`` that first refuses control characters in the raw value, before
    ``to_python`` could look the value up in the database."""

    def clean_refusing_control_characters(value):
        refuse_control_characters(value)
        return clean(value)

    return clean_refusing_control_characters


class _ControlCharacterGuard:
    """Form mixin: every field refuses control characters before its own cleaning."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Fields are per-form copies (Form deep-copies base_fields), so wrapping their clean
        # method here changes nothing outside this form instance.
        for field in self.fields.values():
            field.clean = _guarded(field.clean)


class FilterSet(django_filters.FilterSet):
    """Base of every mlgov filterset. See the module docstring."""

    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.DateTimeField: {"filter_class": IsoDateTimeFilter},
    }

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()
        return type(form_class.__name__, (_ControlCharacterGuard, form_class), {})
