"""Idle session timeout: a session lives MLGOV_SESSION_IDLE_SECONDS after the last request."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _session(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_each_request_pushes_the_expiry_forward(client, viewer):
    client.force_login(viewer)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=30)
    )
    assert client.get(reverse("dashboard:home")).status_code == 200
    remaining = _session(client).expire_date - timezone.now()
    assert remaining > timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_an_idle_session_signs_the_user_out(client, viewer):
    client.force_login(viewer)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("inventory:model_list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_idle_limit_is_half_an_hour_by_default():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # The expiry slides through apps/accounts/sessions.py, not a write on every request.
    assert settings.SESSION_ENGINE == "apps.accounts.sessions"


def test_a_fresh_unchanged_session_is_not_written_again(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("dashboard:home")).status_code == 200
    before = _session(client).expire_date
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("dashboard:home")).status_code == 200
    assert not [
        q for q in ctx.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]
    ]
    assert _session(client).expire_date == before


def test_the_expiry_slides_once_it_is_a_minute_behind(client, viewer):
    client.force_login(viewer)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 61)
    )
    assert client.get(reverse("dashboard:home")).status_code == 200
    remaining = _session(client).expire_date - timezone.now()
    assert remaining > timedelta(seconds=settings.SESSION_COOKIE_AGE - 5)


def test_a_changed_session_is_written_at_once(client, viewer):
    client.force_login(viewer)
    session = client.session
    session["note"] = "kept"
    session.save()
    assert Session.objects.get(session_key=session.session_key).get_decoded()["note"] == "kept"
