"""The OpenAPI schema says what the API really answers: its error statuses and its nulls.

One ``AutoSchema`` for every view (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``), so no view
repeats it:

- **Error statuses.** Every operation documents the errors it can answer, each with the one
  ``Error`` component (``{"detail": ..., "<field>": [...]}``): 400 (a malformed request),
  401 (no or a bad token) and 403 (no role, or not allowed) everywhere; 404 where the path
  names an object or the list is paged (a page past the end); 413 and 415 where there is a
  request body; 429 where the view throttles. A status a view declares itself (409 on
  conflicts, a 429 lockout) keeps its description and gets the same component.
- **Nulls and blanks from the model.** A read-only field whose source follows a nullable
  model field (``approved_by``, ``model`` of an inventory-wide report), or a method field
  annotated ``-> X | None`` (a report's ``download_url``), is ``nullable``; a
  choice field over a model field that may be blank (an incident event's ``from_status``)
  admits ``""``. DRF drops ``allow_null``/``allow_blank`` from read-only fields, so without
  this the schema promised values the API does not always send.
"""

from __future__ import annotations

import types
import typing

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error. ``detail`` says what is wrong; a refused field's messages are "
    "listed under the field's name (nested for nested fields).",
    "properties": {
        "detail": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        }
    },
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {}}, {"type": "object"}, {"type": "string"}]
    },
}

DESCRIPTIONS = {
    "400": "The request is malformed or a value is refused; the message names the field.",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "Your role does not allow this (or your account has no mlgov role).",
    "404": "No such object among those you may see, or a page past the end of the list.",
    "409": "The object's current state does not allow this.",
    "413": "The request body is larger than this endpoint accepts.",
    "415": "The request body's content type is not one this endpoint reads.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}


# For operations whose body names another object (a model by slug): one the user may not see
# answers 404, as its own URL would.
REFERENCE_NOT_FOUND = OpenApiResponse(
    description="An object named in the body (a model, a version) is not among those you may see."
)


def _model_field_path(field) -> tuple[object | None, bool]:
    """The model field a serializer field reads, and whether any step of its source path may
    be null. ``(None, False)`` when the source is not a chain of concrete model fields."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    attrs = getattr(field, "source_attrs", None)
    if model is None or not attrs:
        return None, False
    nullable = False
    model_field = None
    current = model
    for attr in attrs:
        if current is None:
            return None, False
        if attr.startswith("get_") and attr.endswith("_display"):
            # get_FOO_display() answers None while FOO is null.
            attr = attr[len("get_") : -len("_display")]
        try:
            model_field = current._meta.get_field(attr)
        except FieldDoesNotExist:
            return None, False
        if not model_field.concrete:
            return None, False  # reverse relations: a list or a missing key, never null
        nullable = nullable or bool(model_field.null)
        current = model_field.related_model
    return model_field, nullable


def _method_may_return_none(field) -> bool:
    """A ``SerializerMethodField`` whose method is annotated ``-> X | None`` (an explicit
    ``extend_schema_field`` type otherwise hides the ``None`` from the schema)."""
    if not isinstance(field, serializers.SerializerMethodField):
        return False
    method = getattr(field.parent, field.method_name, None)
    try:
        hint = typing.get_type_hints(method).get("return")
    except Exception:  # an unresolvable hint simply says nothing
        return False
    return type(None) in typing.get_args(hint) and (
        typing.get_origin(hint) in (typing.Union, types.UnionType)
    )


class AutoSchema(openapi.AutoSchema):
    """See the module docstring."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self.registry.register_on_missing(
            ResolvedComponent(
                name=ERROR_COMPONENT,
                type=ResolvedComponent.SCHEMA,
                object=ERROR_COMPONENT,
                schema=ERROR_SCHEMA,
            )
        )
        responses = operation["responses"]
        for code in self._error_statuses(operation):
            responses.setdefault(code, {"description": DESCRIPTIONS[code]})
        for code, response in responses.items():
            if code.isdigit() and int(code) >= 400:
                self._as_error(code, response)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation) -> list[str]:
        codes = ["400", "401", "403"]
        has_path_parameter = any(p.get("in") == "path" for p in operation.get("parameters", []))
        if has_path_parameter or self._is_paged_list():
            codes.append("404")
        if "requestBody" in operation:
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _is_paged_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _as_error(self, code: str, response: dict) -> None:
        """A declared error response keeps its description and gets the Error component."""
        response["description"] = response.get("description") or DESCRIPTIONS.get(code, "")
        response["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        }

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if not (direction == "response" and field.read_only):
            return super()._map_serializer_field(field, direction, bypass_extensions)
        model_field, nullable = _model_field_path(field)
        nullable = nullable or _method_may_return_none(field)
        saved = field.allow_null, getattr(field, "allow_blank", None)
        if nullable:
            field.allow_null = True
        if (
            isinstance(field, serializers.ChoiceField)
            and getattr(model_field, "blank", False)
            and getattr(model_field, "choices", None)
        ):
            field.allow_blank = True
        try:
            return super()._map_serializer_field(field, direction, bypass_extensions)
        finally:
            # The same field object may be mapped again for a request component.
            field.allow_null = saved[0]
            if saved[1] is not None:
                field.allow_blank = saved[1]
