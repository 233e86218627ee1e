"""Every risk tier has a review cadence whenever the database has been migrated or flushed.

The data migration ``reviews.0002_default_cadences`` sets the defaults once; ``manage.py flush``
(and a test run's flush between transactional tests) empties the table and then sends
``post_migrate``, so a tier left without a cadence gets its default again here. A cadence an
administrator changed is never touched.
"""

from __future__ import annotations

from django.apps import apps as global_apps

#: Months between periodic reviews by risk tier (Tier 1 is the highest risk).
DEFAULT_CADENCE_MONTHS = {1: 12, 2: 24, 3: 36}


def ensure_default_cadences(sender, *, using: str = "default", apps=global_apps, **kwargs) -> None:
    try:
        cadence = apps.get_model("reviews", "ReviewCadence")
    except LookupError:  # migrating a state before the reviews app's tables
        return
    for tier, months in DEFAULT_CADENCE_MONTHS.items():
        cadence.objects.using(using).get_or_create(tier=tier, defaults={"months": months})
