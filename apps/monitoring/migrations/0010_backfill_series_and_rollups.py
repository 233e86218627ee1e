"""Fill the series table, the hourly and daily rollups and each batch's models for
observations loaded before the loader kept them (0008), so that an upgraded installation's
charts, latest values and batch lists show what it already holds. A new installation has no
observations yet and this does nothing.

It runs the loader's own rebuild (``rebuild_summaries``, the code behind ``manage.py
rebuild_observation_rollups``) a few versions per step; about two minutes for ten million
observations. Only versions with observations and no series yet are rebuilt, so running it
again, or after the command, costs nothing."""

from django.db import migrations

VERSIONS_PER_STEP = 20


def backfill(apps, schema_editor):
    Observation = apps.get_model("monitoring", "Observation")
    ObservationSeries = apps.get_model("monitoring", "ObservationSeries")
    ModelVersion = apps.get_model("inventory", "ModelVersion")
    if not Observation.objects.exists():
        return
    # The loader's rebuild, not a copy of it: it writes the rows the loader writes. It reads
    # the tables of 0008, which this migration follows.
    from apps.monitoring.ingestion.loader import rebuild_summaries

    summarised = ObservationSeries.objects.values("version_id")
    ids = list(
        ModelVersion.objects.exclude(pk__in=summarised)
        .filter(pk__in=Observation.objects.values("version_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for i in range(0, len(ids), VERSIONS_PER_STEP):
        rebuild_summaries(ids[i : i + VERSIONS_PER_STEP])


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0009_batch_newest_first_index")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
