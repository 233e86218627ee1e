"""API errors as JSON: domain errors become 400 with field messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import ApplicationError


class Conflict(exceptions.APIException):
    """The request is valid but the object's state forbids it (e.g. an approved version)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's current state does not allow this change."
    default_code = "conflict"


def exception_handler(exc, context):
    """DRF's handler, plus: ApplicationError and Django ValidationError answer 400.

    The body is ``{"detail": "<summary>", "<field>": ["<message>", ...], ...}`` so clients
    can show the summary and attach each message to its field.
    """
    if isinstance(exc, ApplicationError):
        detail = {"detail": exc.message}
        detail.update(exc.field_errors)
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    return drf_exception_handler(exc, context)
