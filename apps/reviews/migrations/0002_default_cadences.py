"""Default review cadence: Tier 1 every 12 months, Tier 2 every 24, Tier 3 every 36."""

from django.db import migrations

DEFAULTS = {1: 12, 2: 24, 3: 36}


def create_defaults(apps, schema_editor):
    ReviewCadence = apps.get_model("reviews", "ReviewCadence")
    for tier, months in DEFAULTS.items():
        ReviewCadence.objects.get_or_create(tier=tier, defaults={"months": months})


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
