"""Serializer fields every API serializer uses for references, JSON and times.

DRF's own fields pass some input straight to the database, where PostgreSQL refuses it and the
client got a 500: a NUL byte in a slug or username that a ``SlugRelatedField`` looks up, the
form value ``null`` for a JSON field (or ``\\u0000`` inside one), a UTC offset beyond ±15:59.
These subclasses refuse such input with a 400 naming the field. :class:`ModelSerializer` maps
model fields to them, and ``tests/core/test_api_inputs.py`` checks that no API serializer
uses the unsafe originals.
"""

from __future__ import annotations

from datetime import UTC

from django.contrib.auth import get_user_model
from django.db import models
from rest_framework import serializers

from apps.core.validators import control_character_problem, datetime_problem, json_problem


def _refuse_reference(data) -> None:
    if isinstance(data, str):
        problem = control_character_problem(data)
        if problem:
            raise serializers.ValidationError(problem, code="control_character")


class SlugRelatedField(serializers.SlugRelatedField):
    """An object named by a slug, username, code or name. The name is checked before the
    lookup: control characters answer 400, as an unknown name does."""

    def to_internal_value(self, data):
        if not isinstance(data, str | int):
            self.fail("invalid")
        _refuse_reference(str(data))
        return super().to_internal_value(data)


class UsernameField(SlugRelatedField):
    """A user named by username; only active accounts can be assigned."""

    def __init__(self, **kwargs):
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", get_user_model().objects.filter(is_active=True))
        super().__init__(slug_field="username", **kwargs)


class ReferenceField(serializers.CharField):
    """A name of another object (slug, version string) resolved by the view or the service;
    control characters answer 400."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        _refuse_reference(value)
        return value


class JSONField(serializers.JSONField):
    """JSON that PostgreSQL's jsonb stores: no ``null`` where the field does not allow it (also
    sent as the form value ``null``), no NUL or unpaired surrogate in keys or strings, no NaN,
    nesting and size within reason."""

    default_error_messages = {"null": serializers.Field.default_error_messages["null"]}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value is None and not self.allow_null:
            # The form value "null" parses to None after validate_empty_values has run.
            self.fail("null")
        problem = json_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="invalid")
        return value


class DateTimeField(serializers.DateTimeField):
    """An ISO 8601 time PostgreSQL accepts (UTC offset within ±15:59), kept in UTC."""

    def enforce_timezone(self, value):
        problem = datetime_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="invalid")
        if value.tzinfo is not None and self.default_timezone() is not None:
            # In UTC before DRF moves it to the reader's zone, so no offset reaches the database.
            value = value.astimezone(UTC)
        return super().enforce_timezone(value)


class ModelSerializer(serializers.ModelSerializer):
    """Base of every API model serializer: model fields map to the fields above."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
        models.JSONField: JSONField,
    }
