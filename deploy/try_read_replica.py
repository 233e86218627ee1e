"""Try the read replica against a real PostgreSQL streaming standby (README, "Scaling out").

    DATABASE_URL=postgres://…primary…/mlgov DATABASE_REPLICA_URL=postgres://…standby…/mlgov \\
    DJANGO_SECRET_KEY=… MLGOV_SIGNING_KEY_FILE=… MLGOV_REPLICA_MAX_WAIT_SECONDS=2 \\
    .venv/bin/python deploy/try_read_replica.py

Run from a development checkout (it makes its rows with the test factories) on a migrated,
disposable database whose standby the connecting role may pause (``pg_wal_replay_pause``, a
superuser or a role granted it). Tasks run in process. It prints what it sees:

1. a version registered and a model card asked for at once: the report waits until the standby
   has replayed the primary's position, reads its snapshot there and shows the new version;
2. with replay paused (a replica that lags), a model registered and the dashboard read: the
   dashboard's count is stale; a report waits ``MLGOV_REPLICA_MAX_WAIT_SECONDS``, reads the
   primary instead and still shows the newest version;
3. replay resumed: the dashboard's count catches up.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

import django

django.setup()

from django.conf import settings  # noqa: E402

# Pages rendered without collectstatic's manifest (nothing is served from here).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from apps.reports import services as reports  # noqa: E402
from tests.factories import (  # noqa: E402
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)


def replica_reads(queries) -> int:
    return sum(1 for q in queries if "inventory_" in q["sql"])


def card(user, model) -> tuple[bytes, int, float]:
    started = time.monotonic()
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        report = reports.report_request(user=user, kind="model_card", fmt="markdown", model=model)
    report.refresh_from_db()
    assert report.status == "done", report.error
    data = reports.report_file_bytes(report=report)
    return data, replica_reads(on_replica.captured_queries), time.monotonic() - started


def dashboard_total(client) -> str:
    """The dashboard's "N models in the inventory" figure."""
    page = client.get("/").content.decode()
    return re.search(r"(\d+) models? in the inventory", page)[1]


def main() -> int:
    assert "replica" in connections.databases, "set DATABASE_REPLICA_URL"
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        print(f"replica is a standby in recovery: {cursor.fetchone()[0]}")
    tag = str(int(time.time()))
    auditor = UserFactory(username=f"replica-auditor-{tag}", roles=["auditor"])
    model = RegisteredModelFactory(slug=f"replica-trial-{tag}", name=f"Replica trial {tag}")

    ModelVersionFactory(model=model, version="1.0.0", stage="production")
    data, reads, took = card(auditor, model)
    print(
        f"1. report asked for right after version 1.0.0 was committed: shows it: "
        f"{b'1.0.0' in data}; {reads} snapshot reads on the replica; {took:.2f} s"
    )

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(auditor)
    before = dashboard_total(client)
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        RegisteredModelFactory(slug=f"replica-trial-{tag}-b", name=f"Replica trial {tag} b")
        ModelVersionFactory(model=model, version="2.0.0", stage="staging")
        stale = dashboard_total(client)
        print(
            f"2. replay paused, a model registered: dashboard (replica) figure {before} -> "
            f"{stale} (stale)"
        )
        data, reads, took = card(auditor, model)
        print(
            f"   report while the replica lags: shows 2.0.0: {b'2.0.0' in data}; {reads} "
            f"snapshot reads on the replica (read the primary after waiting); {took:.2f} s"
        )
    finally:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    time.sleep(1)
    print(f"3. replay resumed: dashboard figure {dashboard_total(client)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
