"""Try two web nodes: two gunicorn processes on different ports, one database and one Redis,
serving the same signed-in session (README, "Scaling out").

    DATABASE_URL=postgres://… REDIS_URL=redis://… DJANGO_SECRET_KEY=… \\
    MLGOV_SIGNING_KEY_FILE=… .venv/bin/python deploy/try_two_web_nodes.py [--ports 18381,18382]

The database must be migrated. A user ``two-nodes`` (role validator) is made or reset; it signs
in on node A, reads the dashboard on node B with the same cookie, signs out on node B, and node A
then sends it to the sign-in page. Each step is printed; the exit status is 0 when all held.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
USER = "two-nodes"

MAKE_USER = """
from django.contrib.auth.models import Group
from apps.accounts.models import User
user, _ = User.objects.get_or_create(username={user!r}, defaults={{"email": "two@example.org"}})
user.set_password({password!r}); user.is_active = True; user.save()
user.groups.add(Group.objects.get(name="validator"))
"""


def start(port: int, env: dict) -> subprocess.Popen:
    node_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"}
    cmd = [str(Path(PYTHON).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py"]
    return subprocess.Popen(  # noqa: S603 - our own gunicorn and arguments
        [*cmd, "--access-logfile", "/dev/null", "mlgov.wsgi:application"],
        cwd=ROOT,
        env=node_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


def csrf_of(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", default="18381,18382")
    args = parser.parse_args()
    port_a, port_b = (int(p) for p in args.ports.split(","))
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"):
        if not os.environ.get(name):
            raise SystemExit(f"{name} must be set (both nodes share it)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mlgov.settings"}
    # Static files are part of the build, the same on every node (the image collects them).
    static = None if env.get("DJANGO_STATIC_ROOT") else tempfile.mkdtemp(prefix="mlgov-static-")
    env.setdefault("DJANGO_STATIC_ROOT", static or "")
    subprocess.run(  # noqa: S603 - our own manage.py
        [PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    password = secrets.token_urlsafe(16)
    subprocess.run(  # noqa: S603 - our own manage.py
        [PYTHON, "manage.py", "shell", "-c", MAKE_USER.format(user=USER, password=password)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    nodes = [start(port_a, env), start(port_b, env)]
    checks = []

    def check(what: str, ok: bool) -> None:
        checks.append(ok)
        print(f"[{'ok' if ok else 'FAILED'}] {what}")

    try:
        wait_up(a + "/accounts/login/")
        wait_up(b + "/accounts/login/")
        print(f"node A: gunicorn pid {nodes[0].pid} on {a}; node B: pid {nodes[1].pid} on {b}")
        browser = requests.Session()
        login = browser.get(a + "/accounts/login/")
        answer = browser.post(
            a + "/accounts/login/",
            data={
                "username": USER,
                "password": password,
                "csrfmiddlewaretoken": csrf_of(login.text),
            },
            headers={"Referer": a + "/accounts/login/"},
            allow_redirects=False,
        )
        check(
            f"signed in on node A ({answer.status_code} to {answer.headers.get('Location')})",
            answer.status_code == 302 and "sessionid" in browser.cookies,
        )
        page = browser.get(b + "/", allow_redirects=False)
        check(
            f"node B serves the dashboard to the same session ({page.status_code})",
            page.status_code == 200 and USER in page.text,
        )
        logout = browser.post(
            b + "/accounts/logout/",
            data={"csrfmiddlewaretoken": csrf_of(page.text)},
            headers={"Referer": b + "/"},
            allow_redirects=False,
        )
        check(f"signed out on node B ({logout.status_code})", logout.status_code == 302)
        after = browser.get(a + "/", allow_redirects=False)
        check(
            f"node A then sends to sign-in ({after.status_code} to "
            f"{after.headers.get('Location')})",
            after.status_code == 302 and "/accounts/login/" in after.headers["Location"],
        )
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait(timeout=30)
        if static:
            shutil.rmtree(static, ignore_errors=True)
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
