"""Fixtures of the drift tests: uploaded files kept in a temporary media folder, versions."""

from __future__ import annotations

import pytest

from tests.browser.test_journey import browser_page  # noqa: F401 - the Chromium fixture
from tests.factories import ModelVersionFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def version(owned_model, model_owner):
    return ModelVersionFactory(model=owned_model, version="2.0.0", created_by=model_owner)
