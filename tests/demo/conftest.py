"""The demo's stored files (metric batches, drift samples) go to a temporary media folder."""

import pytest


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
