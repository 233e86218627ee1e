"""A test-only app, installed by ``paused_worker_settings`` in the workers that fault tests
start: it holds every ingestion run a few seconds at each of its checkpoints
(``services.run_checkpoint``: once claimed, once validating, and inside the load transaction
just before it commits), so a test can kill the worker in the middle of a batch."""

from __future__ import annotations

import time

from django.apps import AppConfig
from django.conf import settings

PAUSED_SETTINGS = "tests.monitoring.ingestion.paused_worker_settings"
PAUSE_ENV = "MLGOV_TEST_INGEST_PAUSE"


def paused_worker_env(seconds: float) -> dict[str, str]:
    """The environment of a worker that pauses ``seconds`` at each checkpoint of a run."""
    return {"DJANGO_SETTINGS_MODULE": PAUSED_SETTINGS, PAUSE_ENV: str(seconds)}


def _pause(point: str) -> None:
    time.sleep(settings.TEST_INGEST_CHECKPOINT_PAUSE)


class PausedIngestionConfig(AppConfig):
    name = "tests.monitoring.ingestion"
    label = "paused_ingestion"

    def ready(self) -> None:
        from apps.monitoring.ingestion import services

        services.run_checkpoint = _pause
