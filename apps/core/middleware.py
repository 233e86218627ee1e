"""Request middleware: request id, client address, the user's display time zone, and the
security headers every response carries."""

from __future__ import annotations

import ipaddress
import re
import zoneinfo

from django.conf import settings
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from apps.core import context
from apps.core.security import PERMISSIONS_POLICY

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request) -> str:
    """The client address; X-Forwarded-For is trusted only behind a declared proxy.

    Each proxy appends the address it received the request from, so only the entries added
    by the operator's own proxies are facts: with ``MLGOV_TRUSTED_PROXY_COUNT`` proxies in
    front of mlgov, the client is the entry that many places from the right. Anything left of
    it was written by the client and may be forged (a client rotating a fake left-most
    address must not get fresh guesses from the per-address lockout, nor a false address in
    the audit trail).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    count = getattr(settings, "MLGOV_TRUSTED_PROXY_COUNT", 1)
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


class RequestContextMiddleware:
    """Binds request id and client address for audit events and activates the user's zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else context.new_request_id()
        request.request_id = request_id
        tz_name = settings.MLGOV_DEFAULT_USER_TIMEZONE
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "timezone", ""):
            tz_name = user.timezone
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo("UTC"))
        with context.bind(request_id=request_id, client_ip=client_ip(request)):
            response = self.get_response(request)
        timezone.deactivate()
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    """Permissions-Policy on every response; ``Cache-Control: no-store`` on every response to a
    signed-in user and every API response.

    Signed-in pages and API answers hold model records, findings and audit trails: no shared
    proxy, and no browser cache or back button after sign-out on a shared desk, may keep them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if self._private(request):
            add_never_cache_headers(response)
            response["Pragma"] = "no-cache"
        return response

    @staticmethod
    def _private(request) -> bool:
        if request.path_info.startswith("/api/"):
            return True
        # Set by AuthenticationMiddleware further down; absent when WhiteNoise answered first.
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
