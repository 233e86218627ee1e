"""Chain verification through a real server process (runserver, as ``make run`` serves the
API): POST answers 202 with a Location a WSGI server accepts (a str, not DRF's Hyperlink),
and the run it names is followed until it is done."""

from __future__ import annotations

import json
import time

import pytest

from tests import live_server
from tests.reports.test_api_live_server import call

ADMIN = "ada.verify"
PASSWORD = "correct-horse-battery-verify-7"


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    with live_server.site(tmp_path_factory.mktemp("live-verify"), "verify") as site:
        site.manage("create_admin", ADMIN, extra_env={"MLGOV_ADMIN_PASSWORD": PASSWORD})
        yield site, site.token(ADMIN)


def test_a_verification_is_started_and_followed_through_runserver(installation, tmp_path):
    site, token = installation
    log = tmp_path / "runserver.log"
    with live_server.server(site, "runserver", log=log) as base:
        status, headers, raw = call("POST", f"{base}/api/v1/audit-events/verify/", token)
        assert status == 202, (raw[:500], log.read_text()[-3000:])
        started = json.loads(raw)
        assert headers["Location"] == started["url"]
        assert started["url"].startswith(f"{base}/api/v1/audit-verifications/")

        deadline = time.monotonic() + 60
        while True:
            status, _, raw = call("GET", headers["Location"], token)
            assert status == 200, raw[:500]
            run = json.loads(raw)
            if run["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert run["status"] == "done", run
