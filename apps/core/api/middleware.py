"""Refuse an over-size API request body before anything reads it (413, JSON).

Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when a form body is read through
``request.POST``/``request.body``; DRF's JSON parser reads the stream itself, so a JSON body
of any size was read into memory. Under ``/api/`` this middleware compares the declared
``Content-Length`` with the limit of the view the request is routed to: the view's
``request_body_limit()`` (file uploads declare theirs from the ingestion and drift limits),
otherwise ``DATA_UPLOAD_MAX_MEMORY_SIZE``; a body that is not multipart (JSON, a form) never
gets more than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, since it is read whole. WSGI reads no more
than ``Content-Length`` bytes, so the declared length bounds what the view could read.
"""

from __future__ import annotations

from django.conf import settings

from apps.core.api.handlers import error_response, is_api_request, payload_too_large_detail

# What a multipart upload may carry besides its files (boundaries, headers, other fields).
UPLOAD_ENVELOPE_BYTES = 1024 * 1024


def request_body_limit(view_func) -> int | None:
    """The most bytes a request routed to ``view_func`` may carry (None: no limit)."""
    view_class = getattr(view_func, "cls", None)
    declared = getattr(view_class, "request_body_limit", None)
    if declared is not None:
        return declared()
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not is_api_request(request):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "The Content-Length header is not a number.")
        limit = request_body_limit(view_func)
        if not (request.content_type or "").startswith("multipart/"):
            # A JSON or form body is read into memory whole (and grows several-fold as
            # objects): the small limit, whatever files the view's uploads may carry.
            small = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            limit = small if limit is None else min(limit, small)
        if limit is not None and length > limit:
            return error_response(413, payload_too_large_detail(limit))
        return None
