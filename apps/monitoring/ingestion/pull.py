"""Scheduled pulls: fetch a model's metrics from its configured HTTPS source.

Only ``https://`` URLs on a host of the administrators' allow-list (``AllowedPullHost``) are
fetched; redirects may not leave the host or HTTPS, the response is capped at
``MLGOV_INGEST_MAX_BYTES`` and the connection times out after ``MLGOV_PULL_TIMEOUT_SECONDS``.
The content (JSON: an array of rows or ``{"rows": [...]}``; or CSV) becomes an ingestion
batch scoped to the source's model, sent in the name of whoever configured the source.

``fetch`` is the one function that touches the network; tests replace it.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied

from apps.core.errors import ApplicationError
from apps.monitoring.choices import IngestionSource
from apps.monitoring.ingestion import services
from apps.monitoring.ingestion.selectors import allowed_hosts
from apps.monitoring.models import IngestionBatch, MetricSource

logger = logging.getLogger(__name__)


class PullRefused(Exception):
    """The source may not be fetched, or fetching it failed; the message says why."""


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to HTTPS on the same host."""

    def __init__(self, host: str):
        self.host = host

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        target = urlsplit(newurl)
        if target.scheme != "https" or services.normalise_host(target.hostname) != self.host:
            raise PullRefused(
                f"The source redirected to {newurl}; only same-host HTTPS is followed."
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """GET ``url`` and return the body (at most ``max_bytes``; more raises PullRefused)."""
    host = services.normalise_host(urlsplit(url).hostname or "")
    opener = urllib.request.build_opener(_SameHostRedirects(host))
    request = urllib.request.Request(  # noqa: S310 (check_url allows https only)
        url, headers={"Accept": "application/json, text/csv", "User-Agent": "mlgov-pull"}
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PullRefused(f"Fetching {url} failed: {exc}") from exc
    if len(body) > max_bytes:
        raise PullRefused(f"The response is larger than the limit of {max_bytes} bytes.")
    return body


def check_url(url: str) -> None:
    """Refuse anything but HTTPS to an allowed host (checked before every fetch)."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise PullRefused(f"Only https:// sources are pulled, not {url}.")
    host = services.normalise_host(parts.hostname or "")
    if host not in allowed_hosts():
        raise PullRefused(
            f"{host or url} is not on the allow-list of pull hosts; an administrator must "
            "add it before this source is pulled."
        )


def pull_source(*, source_id: int) -> IngestionBatch | None:
    """Fetch one source and create a batch of its content; record any error on the source."""
    source = MetricSource.objects.select_related("model", "created_by").filter(pk=source_id).first()
    if source is None or not source.enabled:
        return None
    try:
        check_url(source.url)
        data = fetch(
            source.url,
            timeout=settings.MLGOV_PULL_TIMEOUT_SECONDS,
            max_bytes=settings.MLGOV_INGEST_MAX_BYTES,
        )
        batch, _ = services.ingestion_batch_create(
            user=source.created_by,
            source=IngestionSource.SCHEDULE,
            data=data,
            file_name=f"pull-{source.pk}.{source.format}",
            scope_model=source.model,
            metric_source=source,
        )
    except (PullRefused, ApplicationError, PermissionDenied) as exc:
        message = getattr(exc, "message", None) or str(exc)
        logger.warning("Pull of source %s refused: %s", source_id, message)
        services.metric_source_record_pull(source_id=source_id, error=message)
        return None
    services.metric_source_record_pull(source_id=source_id)
    return batch
