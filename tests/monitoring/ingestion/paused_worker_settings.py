"""Settings of a worker that pauses each ingestion run at its checkpoints (see ``paused``)."""

import os

from mlgov.settings import *  # noqa: F403
from mlgov.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.monitoring.ingestion.paused.PausedIngestionConfig"]
TEST_INGEST_CHECKPOINT_PAUSE = float(os.environ.get("MLGOV_TEST_INGEST_PAUSE", "3"))
