"""Fixtures of the evaluation tests (shared with tests/incidents through ``fixtures``)."""

from tests.monitoring.evaluation.fixtures import auc, make_threshold, v1, v2

__all__ = ["auc", "make_threshold", "v1", "v2"]
