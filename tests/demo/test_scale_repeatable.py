"""generate_scale_data is repeatable: the same seed and sizes give the same data, another
seed other data. Each run is rolled back (kept apart from test_generate_scale_data's run,
which holds its rows for its whole module)."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.demo.scale import ScaleOptions, generate
from tests.demo.scale_helpers import FAST_HASH, digest, quiet

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=False)
def test_same_seed_same_data(settings):
    settings.PASSWORD_HASHERS = FAST_HASH["PASSWORD_HASHERS"]
    small = ScaleOptions(
        models=30, observations=1500, heavy_observations=500, audit_events=3000, seed=9
    )
    digests = []
    for options in (small, small, ScaleOptions(**{**small.__dict__, "seed": 10})):
        with transaction.atomic():
            generate(options, report=quiet)
            digests.append(digest())
            transaction.set_rollback(True)
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]
