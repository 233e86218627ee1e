"""Response headers: Permissions-Policy everywhere, no-store for signed-in pages and the API,
__Host- cookie names under HTTPS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import path, reverse

from apps.core.security import DENIED_FEATURES

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives and "private" in directives


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/", "/api/v1/models/", "/no-such-page/", "/static/js/mlgov.js"]
)
def test_every_response_denies_powerful_browser_features(client, path):
    policy = client.get(path)["Permissions-Policy"]

    features = dict(item.strip().split("=", 1) for item in policy.split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "display-capture"):
        assert features[feature] == "()", feature
    assert set(features) == set(DENIED_FEATURES)


@pytest.mark.parametrize(
    "name", ["dashboard:home", "inventory:model_list", "audit:event_list", "reports:report_list"]
)
def test_signed_in_pages_are_not_stored(client, auditor, name):
    client.force_login(auditor)

    response = client.get(reverse(name))

    assert response.status_code == 200
    assert _no_store(response)
    assert response["Pragma"] == "no-cache"


def test_api_answers_are_not_stored_signed_in_or_not(client, auditor):
    anonymous = client.get("/api/v1/models/")
    client.force_login(auditor)
    signed_in = client.get("/api/v1/models/")

    assert anonymous.status_code in (401, 403) and _no_store(anonymous)
    assert signed_in.status_code == 200 and _no_store(signed_in)


def test_static_files_stay_cacheable(client, auditor):
    # Nothing private in them; no-store is for what a signed-in user sees.
    client.force_login(auditor)

    response = client.get("/static/css/mlgov.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_after_sign_in_the_redirect_and_pages_are_not_stored(client, auditor):
    auditor.set_password(PASSWORD)
    auditor.save()

    response = client.post(
        reverse("accounts:login"), {"username": auditor.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert _no_store(response)


def _settings_under(env: dict[str, str], code: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLGOV_"))}
    clean.pop("DATABASE_URL", None)
    clean.update(env, DJANGO_SETTINGS_MODULE="mlgov.settings")
    out = subprocess.run(
        [sys.executable, "-c", f"import json, django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


COOKIES = (
    "from django.conf import settings as s; print(json.dumps({'session': s.SESSION_COOKIE_NAME, "
    "'csrf': s.CSRF_COOKIE_NAME, 'secure': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE], "
    "'domain': [s.SESSION_COOKIE_DOMAIN, s.CSRF_COOKIE_DOMAIN], "
    "'path': [s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_PATH]}))"
)


def test_under_https_the_cookies_carry_the_host_prefix(tmp_path):
    seen = _settings_under({"DJANGO_HTTPS": "true", "MLGOV_VAR_DIR": str(tmp_path)}, COOKIES)

    assert seen["session"] == "__Host-sessionid"
    assert seen["csrf"] == "__Host-csrftoken"
    # What browsers require of a __Host- cookie: Secure, Path=/, no Domain.
    assert seen["secure"] == [True, True]
    assert seen["domain"] == [None, None]
    assert seen["path"] == ["/", "/"]


def test_without_https_the_cookies_keep_their_plain_names(tmp_path):
    # Browsers drop a __Host- cookie that is not Secure, which would break plain-HTTP demos.
    seen = _settings_under({"DJANGO_HTTPS": "false", "MLGOV_VAR_DIR": str(tmp_path)}, COOKIES)

    assert seen["session"] == "sessionid" and seen["csrf"] == "csrftoken"


@override_settings(
    SESSION_COOKIE_NAME="__Host-sessionid",
    CSRF_COOKIE_NAME="__Host-csrftoken",
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_a_browser_accepts_the_host_cookies_set_at_sign_in(client, auditor):
    auditor.set_password(PASSWORD)
    auditor.save()
    page = client.get(reverse("accounts:login"), secure=True)
    token = page.cookies["__Host-csrftoken"].value

    response = client.post(
        reverse("accounts:login"),
        {"username": auditor.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        secure=True,
    )

    assert response.status_code == 302
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = (response.cookies.get(name) or page.cookies[name]).output()
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie, cookie


def _flash(request):
    from django.contrib import messages
    from django.http import HttpResponse

    messages.success(request, "Saved.")
    return HttpResponse("ok")


def _read(request):
    from django.contrib import messages
    from django.http import HttpResponse

    return HttpResponse(" ".join(str(m) for m in messages.get_messages(request)))


urlpatterns = [path("flash/", _flash), path("read/", _read)]


@override_settings(ROOT_URLCONF=__name__)
def test_flash_messages_set_no_cookie_of_their_own(client, auditor):
    # Under HTTPS every cookie mlgov sets carries the __Host- prefix; a "messages" cookie
    # would be the one exception, so messages travel in the session.
    client.force_login(auditor)

    flashed = client.get("/flash/")
    shown = client.get("/read/")

    assert set(flashed.cookies) <= {"sessionid", "csrftoken"}
    assert shown.content == b"Saved."
