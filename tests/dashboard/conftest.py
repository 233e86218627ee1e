"""Fixtures of the dashboard tests: the evaluation's ``auc`` metric for monitoring figures."""

from tests.monitoring.evaluation.fixtures import auc

__all__ = ["auc"]
