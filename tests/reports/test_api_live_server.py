"""Reports API through real server processes: runserver as ``make run`` starts it, and
gunicorn with deploy/gunicorn.conf.py. A token from ``manage.py drf_create_token``, a report
asked for, its Location followed until done, the file downloaded and checked against the
recorded SHA-256.

The test client never goes through a WSGI server, so it missed that runserver refused the
Location header (DRF's Hyperlink, not a str) and answered 500 after making the report.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request

import pytest

from tests import live_server

ADMIN = "ada.live"
PASSWORD = "correct-horse-battery-live-7"


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    with live_server.site(tmp_path_factory.mktemp("live-reports"), "reports") as site:
        site.manage("create_admin", ADMIN, extra_env={"MLGOV_ADMIN_PASSWORD": PASSWORD})
        yield site, site.token(ADMIN)


def call(method: str, url: str, token: str, body: dict | None = None):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
    request.add_header("Authorization", f"Token {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize("kind", ["runserver", "gunicorn"])
def test_a_report_is_asked_for_followed_and_downloaded_through_a_real_server(
    installation, kind, tmp_path
):
    site, token = installation
    log = tmp_path / f"{kind}.log"
    with live_server.server(site, kind, log=log) as base:
        status, headers, raw = call(
            "POST", f"{base}/api/v1/reports/", token, {"kind": "register", "format": "csv"}
        )
        assert status == 202, (raw[:500], log.read_text()[-3000:])
        created = json.loads(raw)
        location = headers["Location"]
        assert location == created["url"]
        assert location == f"{base}/api/v1/reports/{created['id']}/"

        deadline = time.monotonic() + 60
        while True:
            status, _, raw = call("GET", location, token)
            assert status == 200, raw[:500]
            report = json.loads(raw)
            if report["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert report["status"] == "done", report

        status, headers, data = call("GET", report["download_url"], token)
        assert status == 200
        assert headers["Content-Type"].startswith("text/csv")
        assert hashlib.sha256(data).hexdigest() == report["sha256"]
        assert data.startswith(b"\xef\xbb\xbf") or data[:1].isalpha()


def test_without_a_token_the_server_answers_401_in_json(installation, tmp_path):
    site, _ = installation
    with live_server.server(site, "runserver", log=tmp_path / "runserver.log") as base:
        status, headers, raw = call("GET", f"{base}/api/v1/reports/", "not-a-token")
        assert status == 401
        assert headers["Content-Type"] == "application/json"
        assert "detail" in json.loads(raw)
