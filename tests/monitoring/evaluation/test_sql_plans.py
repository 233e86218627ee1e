"""How PostgreSQL runs the evaluation's SQL on a batch it has no statistics for yet.

A batch is evaluated in the transaction that loaded it, before anything analysed the new
rows: the statements must not read a whole series to find its newest time.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.monitoring.evaluation import sql
from tests.monitoring.evaluation.helpers import day, load, new_batch

pytestmark = pytest.mark.django_db

POINTS = 2000


def _observation_scans(plan: dict) -> list[dict]:
    """Every node of the plan that reads the observation table."""
    found = [plan] if plan.get("Relation Name") == "monitoring_observation" else []
    for child in plan.get("Plans", ()):
        found += _observation_scans(child)
    return found


def test_a_series_newest_time_is_one_step_back_along_its_index(make_threshold, v1, auc):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's; SQLite runs the same statement unplanned")
    make_threshold()
    batch = new_batch(v1.model.owner)
    points = [(day(i / 24), 0.8) for i in range(POINTS)]
    series = load(batch, v1, auc, points).series

    with CaptureQueriesContext(connection) as queries:
        pairs = sql.affected_pairs(batch.pk, series)
    assert [p.newest for p in pairs] == [points[-1][0]]

    (statement,) = [q["sql"] for q in queries.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement)
        explained = cursor.fetchone()[0]
    (plan,) = json.loads(explained) if isinstance(explained, str) else explained
    scans = _observation_scans(plan["Plan"])
    assert scans, "the statement reads the observation table"
    for scan in scans:
        # One index entry per series and loop, not the series' 2,000 rows.
        assert scan["Actual Rows"] <= 1, scan
        assert "Backward" in scan.get("Scan Direction", ""), scan
