"""deploy/partition_observations.sql on PostgreSQL: the observation table becomes partitioned
by month with every row and index kept, the ORM reads it as before, a second run is refused,
and retention then drops whole months before the cut-off and deletes only the older rows of the
boundary month. Run in a schema of its own (first on the search path), dropped afterwards."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import DatabaseError, connection

from apps.audit.models import AuditEvent
from apps.monitoring.models import Observation
from apps.monitoring.retention import observations_purge

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "partition_observations.sql"
SCHEMA = "partition_drill"
TABLE = "monitoring_observation"


def run_script() -> None:
    sql = "\n".join(line for line in SCRIPT.read_text().splitlines() if not line.startswith("\\"))
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.fixture
def drill_schema():
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        cursor.execute(
            f"CREATE TABLE {SCHEMA}.monitoring_observation "
            "(LIKE public.monitoring_observation INCLUDING ALL)"
        )
        cursor.execute(f"SET search_path TO {SCHEMA}, public")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET search_path")
            cursor.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('monitoring_observation') ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]


def test_the_table_is_partitioned_by_month_and_retention_drops_months(drill_schema):
    now = dt.datetime.now(dt.UTC)
    Observation.objects.bulk_create(
        Observation(
            version_id=v,
            metric_id=1,
            segment="",
            timestamp=now - dt.timedelta(days=age, hours=1),
            value=age,
            batch_id=1,
        )
        for v in (1, 2)
        for age in range(450)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", ["monitoring_observation"]
        )
        indexes_before = sorted(d.split(" USING ")[1] for (d,) in cursor.fetchall())
    run_script()

    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        assert cursor.fetchone()[0] == "p"
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", ["monitoring_observation"]
        )
        indexes_after = sorted(d.split(" USING ")[1] for (d,) in cursor.fetchall())
    assert indexes_after == indexes_before  # the primary key and both BRIN indexes
    months = partitions()
    assert "monitoring_observation_default" in months and len(months) >= 16 + 3
    assert Observation.objects.count() == 900
    assert Observation.objects.filter(version_id=1, metric_id=1).count() == 450
    with pytest.raises(DatabaseError, match="already partitioned"):
        run_script()
    with connection.cursor() as cursor:
        cursor.execute("ROLLBACK")  # as psql leaves it, stopping on the error

    result = observations_purge(days=365, batch_size=7)
    cutoff = result.cutoff
    assert len(result.dropped_partitions) >= 2
    assert not set(result.dropped_partitions) & set(partitions())
    # Exactly the rows before the cut-off are gone, dropped by month or deleted in batches.
    assert result.deleted == 2 * len([a for a in range(450) if a * 24 + 1 > 365 * 24])
    assert not Observation.objects.filter(timestamp__lt=cutoff).exists()
    assert Observation.objects.count() == 900 - result.deleted
    assert result.batches >= 1 and result.complete
    event = AuditEvent.objects.filter(object_id="retention").latest("sequence")
    assert event.changes["deleted"] == result.deleted
    assert event.changes["dropped_partitions"] == result.dropped_partitions
