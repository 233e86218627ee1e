"""Observations by batch: a BRIN index on PostgreSQL instead of a B-tree.

Batches are appended in id order, so a BRIN index on ``batch_id`` finds a batch's rows while
costing almost nothing per loaded row; the B-tree it replaces cost a third of a bulk load.
SQLite (development) keeps a B-tree.
"""

from django.db import migrations

BRIN = (
    "CREATE INDEX IF NOT EXISTS obs_batch_brin ON monitoring_observation "
    "USING brin (batch_id) WITH (pages_per_range = 32)"
)
BTREE = "CREATE INDEX IF NOT EXISTS obs_batch_btree ON monitoring_observation (batch_id)"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BRIN)
    else:
        schema_editor.execute(BTREE)


def backwards(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS obs_batch_brin")
    schema_editor.execute("DROP INDEX IF EXISTS obs_batch_btree")


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_observation_big_table_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="observation", name="obs_batch"),
        migrations.RunPython(forwards, backwards),
    ]
