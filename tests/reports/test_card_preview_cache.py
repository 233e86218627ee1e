"""The model card in the browser keeps its snapshot while the model has no new audited change
(``MLGOV_CARD_PREVIEW_CACHE_SECONDS``): opened again, it is served without building the
snapshot; any audited change of the model, or another as-of, builds a fresh one."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.inventory.services.registered_models import registered_model_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def builds(settings, monkeypatch):
    """Turns the cache on (tests run with it off) and counts the snapshots built."""
    from apps.reports import snapshot

    settings.MLGOV_CARD_PREVIEW_CACHE_SECONDS = 60
    cache.clear()
    built = []
    real = snapshot.model_snapshot

    def counting(**kwargs):
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(snapshot, "model_snapshot", counting)
    yield built
    cache.clear()


def card(client, model, **params) -> str:
    response = client.get(reverse("reports:model_card", args=[model.slug]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_a_card_opened_again_is_served_without_building_its_snapshot_again(
    client, auditor, owned_model, builds, django_assert_max_num_queries
):
    client.force_login(auditor)
    first = card(client, owned_model)
    with django_assert_max_num_queries(7):  # session, user, roles, model, newest event, bar
        again = card(client, owned_model)

    assert len(builds) == 1
    assert "Owned model" in again and "Owned model" in first


def test_an_audited_change_of_the_model_shows_at_once(
    client, auditor, model_owner, owned_model, builds
):
    client.force_login(auditor)
    assert "Scores retail credit applications" not in card(client, owned_model)

    registered_model_update(
        actor=model_owner, model=owned_model, purpose="Scores retail credit applications."
    )

    assert "Scores retail credit applications" in card(client, owned_model)
    assert len(builds) == 2


def test_each_as_of_has_its_own_snapshot(client, auditor, owned_model, builds):
    client.force_login(auditor)
    registered = owned_model.created_at.isoformat()
    card(client, owned_model)
    card(client, owned_model, as_of=registered)
    card(client, owned_model, as_of=registered)

    assert [b["as_of"] is None for b in builds] == [True, False]


def test_with_no_cache_time_every_card_is_built_afresh(
    client, auditor, owned_model, builds, settings
):
    settings.MLGOV_CARD_PREVIEW_CACHE_SECONDS = 0
    client.force_login(auditor)
    card(client, owned_model)
    card(client, owned_model)

    assert len(builds) == 2


def test_with_the_cache_down_the_card_is_built_and_served(client, auditor, owned_model, builds):
    # A Redis nobody listens on (a closed port on loopback): every cache call fails.
    from django.test import override_settings

    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    client.force_login(auditor)
    with override_settings(CACHES=down):
        assert "Owned model" in card(client, owned_model)
        assert "Owned model" in card(client, owned_model)
    assert len(builds) == 2
