"""Fixtures of evaluation tests (imported by the conftests of evaluation and incidents):
a model with two versions, an ``auc`` metric and active thresholds."""

from __future__ import annotations

import pytest

from tests.factories import ModelVersionFactory
from tests.monitoring.factories import MetricFactory, ThresholdFactory


@pytest.fixture
def auc(db, admin_user):
    return MetricFactory(name="auc", direction="higher_is_better", created_by=admin_user)


@pytest.fixture
def v1(owned_model):
    return ModelVersionFactory(model=owned_model, version="1.0.0")


@pytest.fixture
def v2(owned_model):
    return ModelVersionFactory(model=owned_model, version="2.0.0")


@pytest.fixture
def make_threshold(owned_model, auc):
    """An ACTIVE threshold of ``owned_model`` (breach below 0.75 warning, 0.70 critical)."""

    def make(**kw):
        kw.setdefault("model", owned_model)
        kw.setdefault("metric", auc)
        kw.setdefault("status", "active")
        return ThresholdFactory(**kw)

    return make
