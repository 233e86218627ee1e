"""A BRIN index on observation time, on PostgreSQL only.

Observations arrive roughly in time order, so a BRIN index stays tiny (a few pages for tens of
millions of rows) while letting time-range scans skip most of the table. SQLite has no BRIN;
there the (version, metric, timestamp) B-tree serves the same queries.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS obs_timestamp_brin ON monitoring_observation "
    "USING brin (timestamp) WITH (pages_per_range = 32)"
)
DROP = "DROP INDEX IF EXISTS obs_timestamp_brin"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0002_ingestion_evaluation_drift")]

    operations = [migrations.RunPython(forwards, backwards)]
