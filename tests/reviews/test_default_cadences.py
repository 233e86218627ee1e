"""Each tier's review cadence comes back after a flush (it sends post_migrate); an
administrator's cadence is kept."""

import pytest
from django.core.management.sql import emit_post_migrate_signal

from apps.reviews.models import ReviewCadence

pytestmark = pytest.mark.django_db


def test_the_default_cadences_are_made_again_after_the_table_is_emptied():
    ReviewCadence.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert dict(ReviewCadence.objects.values_list("tier", "months")) == {1: 12, 2: 24, 3: 36}


def test_a_changed_cadence_is_kept():
    ReviewCadence.objects.filter(tier=1).update(months=6)
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert dict(ReviewCadence.objects.values_list("tier", "months")) == {1: 6, 2: 24, 3: 36}
