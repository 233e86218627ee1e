"""Scheduled pulls: fetch a model's metrics from its configured HTTPS source.

Two rules must both let a pull out. The application's: only ``https://`` URLs on a host of the
administrators' allow-list (``AllowedPullHost``). The egress guard's (apps.core.egress), checked
again at every pull: the host resolves to public addresses (or ones the operator allow-listed
with ``MLGOV_EGRESS_ALLOW``), the port is allowed, the connection goes to the checked address,
redirects are not followed, the answer is capped at ``MLGOV_INGEST_MAX_BYTES`` and the whole
request at ``MLGOV_PULL_TIMEOUT_SECONDS``. The content (JSON: an array of rows or
``{"rows": [...]}``; or CSV) becomes an ingestion batch scoped to the source's model, sent in
the name of whoever configured the source.

``fetch`` is the one function that touches the network; tests replace it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied

from apps.core import egress
from apps.core.errors import ApplicationError
from apps.monitoring.choices import IngestionSource
from apps.monitoring.ingestion import services
from apps.monitoring.ingestion.selectors import pull_url_refusal
from apps.monitoring.models import IngestionBatch, MetricSource

logger = logging.getLogger(__name__)

USER_AGENT = "mlgov-pull/1"


class PullRefused(Exception):
    """The source may not be fetched, or fetching it failed; the message says why."""


def fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """GET ``url`` through the egress guard and return the body (a 200 answer of at most
    ``max_bytes``); anything else raises PullRefused saying why."""
    try:
        response = egress.request(
            "GET",
            url,
            headers={"Accept": "application/json, text/csv", "User-Agent": USER_AGENT},
            timeout=timeout,
            max_bytes=max_bytes,
        )
    except egress.EgressError as exc:
        raise PullRefused(exc.message) from exc
    if response.status != 200:
        raise PullRefused(f"{url} answered {response.status} {response.reason}.")
    return response.body


def check_url(url: str) -> None:
    """Refuse anything but HTTPS to an allowed host (checked before every fetch)."""
    refusal = pull_url_refusal(url)
    if refusal:
        raise PullRefused(refusal)


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
