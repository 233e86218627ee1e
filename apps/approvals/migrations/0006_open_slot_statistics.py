"""Statistics on each position of a request's ``open_slots``, on PostgreSQL only.

The inbox and its badge select pending requests by ``open_slots -> i = '"validator"'`` (an
expression PostgreSQL has no statistics for unless asked). Without them the planner guessed a
few dozen matches among thousands of pending requests, sorted them all and kept 25 (22 ms with
2,288 pending); with them it walks ``approval_pending_by_age`` oldest first and stops at the
page's 25 rows (0.4 ms). ``policy.MAX_SLOTS`` is 2; a third position costs nothing.
"""

from django.db import migrations

POSITIONS = range(3)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for i in POSITIONS:
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS approval_open_slot_{i} "
            f"ON ((open_slots -> {i})) FROM approvals_approvalrequest"
        )
    schema_editor.execute("ANALYZE approvals_approvalrequest")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for i in POSITIONS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS approval_open_slot_{i}")


class Migration(migrations.Migration):
    dependencies = [("approvals", "0005_model_closed_index")]

    operations = [migrations.RunPython(forwards, backwards)]
