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
from django.db.models import Exists, Q
from django_filters.fields import IsoDateTimeField as _IsoDateTimeField
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS

from apps.core.validators import datetime_problem, refuse_control_characters
from apps.core.widgets import ModelSearchInput


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


class ModelSearchFilter(django_filters.CharFilter):
    """A registered model chosen by slug, typed or picked from suggestions, instead of a
    ``<select>`` of every model the user sees (10,000 options at a bank's size).

    ``field_name`` is the path to the model (``model``, ``version__model``). A value equal to
    a model's slug keeps that model's rows; any other text keeps the rows whose model's name
    or slug contains it (a search, so the box works without JavaScript). One query either
    way; rows stay limited by the list's own queryset, so nothing out of reach shows."""

    def __init__(self, *, field_name: str = "model", **kwargs):
        kwargs.setdefault("label", "Model")
        kwargs.setdefault("widget", ModelSearchInput())
        super().__init__(field_name=field_name, **kwargs)

    def _related_model(self, queryset):
        model = queryset.model
        for part in self.field_name.split("__"):
            model = model._meta.get_field(part).related_model
        return model

    def filter(self, qs, value):
        value = (value or "").strip()
        if not value:
            return qs
        path = self.field_name
        slug_exists = self._related_model(qs)._default_manager.filter(slug=value)
        search = Q(**{f"{path}__name__icontains": value}) | Q(**{f"{path}__slug__icontains": value})
        return qs.filter(Q(**{f"{path}__slug": value}) | (~Exists(slug_exists) & search))


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
