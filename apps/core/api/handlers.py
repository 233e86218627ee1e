"""Django's error views, answering JSON under ``/api/``.

DRF turns the errors of its own views into JSON, but some answers are made by Django before or
after any API view runs: an unknown ``/api/v1/...`` path (404), an exception no view handled
(500), a request Django refuses (400, or 413 for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``),
a CSRF failure outside DRF (403). These views give those the API's error shape,
``{"detail": "..."}``, and leave the browser's HTML pages as they were. A 500 carries the
request id (also in the ``X-Request-ID`` header and the server log), never a traceback.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def error_response(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def payload_too_large_detail(limit: int | None) -> str:
    if limit is None:
        return "The request body is too large."
    return f"The request body is too large; at most {limit} bytes are accepted here."


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.bad_request(request, exception, template_name)
    if isinstance(exception, RequestDataTooBig):
        return error_response(413, payload_too_large_detail(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    return error_response(400, "Bad request.")


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.permission_denied(request, exception, template_name)
    message = str(exception) if exception and str(exception) else ""
    return error_response(403, message or "You are not allowed to do this.")


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.page_not_found(request, exception, template_name)
    return error_response(404, "Not found.")


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if not is_api_request(request):
        return defaults.server_error(request, template_name)
    request_id = getattr(request, "request_id", "")
    detail = "Server error; it has been logged."
    if request_id:
        detail += f" Quote request id {request_id} to an administrator."
    return error_response(500, detail)


def csrf_failure(request, reason="", template_name="403_csrf.html"):
    if not is_api_request(request):
        return django_csrf_failure(request, reason, template_name)
    return error_response(
        403,
        f"CSRF check failed: {reason}. Session clients send the csrftoken cookie's value in "
        "the X-CSRFToken header; token clients are not checked.",
    )
