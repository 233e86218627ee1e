"""API errors as JSON: domain errors become 400 with field messages."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.api.handlers import payload_too_large_detail
from apps.core.errors import ApplicationError


class Conflict(exceptions.APIException):
    """The request is valid but the object's state forbids it (e.g. an approved version)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's current state does not allow this change."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    """The request body is larger than this endpoint accepts."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def exception_handler(exc, context):
    """DRF's handler, plus: ApplicationError and Django ValidationError answer 400; a body
    Django refuses while parsing answers 413 (too large) or 400 (too many fields or files).

    The body is ``{"detail": "<summary>", "<field>": ["<message>", ...], ...}`` so clients
    can show the summary and attach each message to its field. Exceptions left unhandled here
    reach Django's 500 handler, which answers JSON under /api/ (apps/core/api/handlers.py).
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
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(payload_too_large_detail(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError(str(exc))
    return drf_exception_handler(exc, context)
