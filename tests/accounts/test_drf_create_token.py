"""``manage.py drf_create_token``: a new named, expiring token per run, printed once in DRF's
format; ``-r`` revokes the user's other tokens first; unknown users are refused."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.accounts.models import AuthToken
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("drf_create_token", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_the_key_in_drfs_format(model_owner):
    line = run(model_owner.username)
    words = line.split()
    assert words[:2] == ["Generated", "token"] and words[3:] == ["for", "user", "mo.owner"]
    key = words[2]
    assert key.startswith("mlgov_")
    token = AuthToken.objects.get(user=model_owner)
    assert token.name == "cli"
    assert token.created_by is None
    assert key not in token.digest


def test_each_run_makes_another_named_token(model_owner):
    run(model_owner.username, "--name", "CI pipeline", "--expires-days", "7")
    run(model_owner.username, "--name", "notebook")
    tokens = {t.name: t for t in AuthToken.objects.filter(user=model_owner)}
    assert set(tokens) == {"CI pipeline", "notebook"}
    left = tokens["CI pipeline"].expiry - timezone.now()
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)


def test_reset_revokes_the_other_tokens_first(model_owner):
    run(model_owner.username, "--name", "old")
    run(model_owner.username, "-r", "--name", "new")
    assert list(AuthToken.objects.filter(user=model_owner).values_list("name", flat=True)) == [
        "new"
    ]
    actions = list(
        AuditEvent.objects.filter(object_type="accounts.authtoken")
        .order_by("sequence")
        .values_list("action", "actor_username")
    )
    assert actions == [("create", "system"), ("revoke", "system"), ("create", "system")]


def test_an_unknown_user_is_refused(db):
    with pytest.raises(CommandError, match="does not exist"):
        run("nobody")


def test_an_expiry_beyond_the_maximum_is_refused(model_owner, settings):
    settings.MLGOV_TOKEN_MAX_TTL_DAYS = 366
    with pytest.raises(CommandError, match="between 1 and 366 days"):
        run(model_owner.username, "--expires-days", "400")
    assert not AuthToken.objects.exists()
