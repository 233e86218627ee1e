"""Redis down: every request that starts a job answers at once, and every job runs exactly once
when Redis is back (issue 13, part 1).

Real processes on loopback: a throwaway ``redis-server`` (no persistence, so its restart
loses every message it held), gunicorn and a prefork Celery worker with embedded beat, both
on that Redis and one throwaway PostgreSQL database and media folder, and an HTTP listener
for webhooks. When Redis goes down, a batch is running in the worker and a report and a drift
run wait in Redis behind it. While Redis is down, a model owner's API client uploads metric
files, re-sends one of them, asks for reports, starts drift runs and opens incidents (each
queues a webhook delivery). Then Redis comes back: every request answered at once, and every
job, those in Redis when it died included, ran exactly once.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests import listeners, live_server
from tests.jobs import data, harness
from tests.jobs.world import MODEL, VERSION
from tests.monitoring.ingestion.paused import paused_worker_env

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(not live_server.postgres_url(), reason="needs PostgreSQL"),
]

TICK = 1  # seconds between the dispatcher's beats
RESEND = 4  # a job sent but not started is sent again after this
PAUSE = 0.7  # seconds the worker pauses at each of a batch's 3 stages (ingestion's test seam)
#: Seconds any request may take while Redis is down: a publish waits at most
#: MLGOV_BROKER_CONNECT_TIMEOUT (2 s by default) for a hung Redis, once per process until
#: the breaker closes again.
REQUEST_BOUND = 3.0
#: One server process, warmed up before the outage, so that a first request's imports (up
#: to 1.5 s on a loaded machine) are not counted as the outage's.
ONE_PROCESS = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4"}
RECOVERY_BOUND = 60.0  # seconds from Redis's restart to the last job done
FILE_ROWS = (300, 200, 100)

INGEST = "monitoring.ingest_batch"
REPORT = "reports.generate_report"
DRIFT = "monitoring.run_drift"
WEBHOOK = "notifications.deliver_webhook"


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_jobs_asked_for_while_redis_is_down_answer_at_once_and_run_once_when_it_returns(
    fault: str, tmp_path: Path, capsys
):
    """``killed``: Redis is SIGKILLed (everything it held is lost) and started again on the
    same port. ``frozen``: Redis is SIGSTOPped (connections are accepted by the kernel and
    never answered, as with a hung server) and then resumed."""
    hooks = listeners.listener(respond=listeners.reply(204))
    with (
        hooks as hook,
        harness.throwaway_redis(tmp_path / "redis") as redis,
        live_server.site(
            tmp_path,
            "jobs_outage",
            **harness.broker_env(
                redis,
                MLGOV_JOB_TICK_SECONDS=str(TICK),
                MLGOV_JOB_RESEND_SECONDS=str(RESEND),
                MLGOV_EGRESS_ALLOW=hook.allow_entry,
            ),
        ) as site,
    ):
        world = harness.make_world(site, webhook_url=hook.url("/hook"))
        with (
            live_server.server(
                site, "gunicorn", log=tmp_path / "gunicorn.log", extra_env=ONE_PROCESS
            ) as base,
            harness.worker(
                site,
                log=tmp_path / "worker.log",
                name="outage",
                beat=True,
                extra_env=paused_worker_env(PAUSE),
            ) as w,
        ):
            api = harness.Api(base, world["token"])
            warm_up(api)
            before = in_flight(api, site)
            sent = outage(api, redis, fault)
            during = {kind: len(sent[kind]) for kind in ("batches", "reports", "drift")}
            for kind in ("batches", "reports", "drift"):
                sent[kind] += before[kind]
            sent["rows"].update(before["rows"])
            restarted = time.monotonic()
            if fault == "killed":
                redis.start()
            else:
                redis.thaw()
            finished = wait_for_all(api, site, sent, w)
            recovery = finished - restarted
            completed = check_exactly_once(api, site, sent, hook)

    during["deliveries"] = len(sent["deliveries"])
    with capsys.disabled():
        print(
            f"\n[redis {fault}] {sum(during.values())} jobs asked for while Redis was down "
            f"({during['batches']} batches, {during['reports']} reports, "
            f"{during['drift']} drift runs, {during['deliveries']} webhook deliveries), "
            "3 more in Redis when it went down (a batch running, a report and a drift run "
            "queued); "
            f"slowest request {api.slowest:.3f} s; all {completed} completed exactly once "
            f"after Redis came back, the last {recovery:.1f} s after (every batch pausing "
            f"{3 * PAUSE:.1f} s in the worker)"
        )


def warm_up(api: harness.Api) -> None:
    """One job of each kind while Redis is up: the server process has served each kind of
    request once (its first request of a kind imports what it needs) and the worker has run
    each kind; the timings counted are those of the outage."""
    answer = api.call(
        "POST",
        "/api/v1/ingestion/",
        files={"file": ("warm.csv", data.metric_csv(10, first_minute=10**6))},
    )
    assert answer.status_code == 202, answer.text[:1000]
    batch = answer.json()["id"]
    answer = api.call("POST", "/api/v1/reports/", json={"kind": "register", "format": "csv"})
    assert answer.status_code == 202, answer.text[:1000]
    report = answer.json()["id"]
    reference, current = data.drift_samples(0)
    answer = api.call(
        "POST",
        "/api/v1/drift-runs/",
        data={"model": MODEL, "version": VERSION},
        files={"reference": ("ref.csv", reference), "current": ("cur.csv", current)},
    )
    assert answer.status_code == 202, answer.text[:1000]
    run = answer.json()["id"]
    harness.wait_until(
        lambda: (
            api.get_json(f"/api/v1/ingestion/{batch}/")["status"] == "succeeded"
            and api.get_json(f"/api/v1/reports/{report}/")["status"] == "done"
            and api.get_json(f"/api/v1/drift-runs/{run}/")["status"] == "succeeded"
        ),
        60,
        lambda: "the warm-up jobs did not finish with Redis up",
        interval=0.2,
    )
    api.timings.clear()


def in_flight(api: harness.Api, site) -> dict:
    """Just before the outage: a batch running in the worker (its pauses keep it busy), and a
    report and a drift run sent to Redis and waiting there behind it. A killed Redis loses
    both messages; the dispatcher sends them again."""
    content = data.metric_csv(50, first_minute=500_000)
    answer = api.call("POST", "/api/v1/ingestion/", files={"file": ("busy.csv", content)})
    assert answer.status_code == 202, answer.text[:1000]
    batch = answer.json()["id"]
    harness.wait_until(
        lambda: harness.job_rows(site, INGEST)[batch][0] == "running",
        30,
        lambda: f"batch {batch} did not start: {harness.job_rows(site, INGEST)}",
        interval=0.02,
    )
    answer = api.call("POST", "/api/v1/reports/", json={"kind": "register", "format": "xlsx"})
    assert answer.status_code == 202, answer.text[:1000]
    report = answer.json()["id"]
    reference, current = data.drift_samples(3)
    answer = api.call(
        "POST",
        "/api/v1/drift-runs/",
        data={"model": MODEL, "version": VERSION},
        files={"reference": ("ref.csv", reference), "current": ("cur.csv", current)},
    )
    assert answer.status_code == 202, answer.text[:1000]
    run = answer.json()["id"]
    states = (
        harness.job_rows(site, INGEST)[batch][0],
        harness.job_rows(site, REPORT)[report][0],
        harness.job_rows(site, DRIFT)[run][0],
    )
    assert states == ("running", "sent", "sent"), states
    api.timings.clear()
    return {"batches": [batch], "reports": [report], "drift": [run], "rows": {batch: 50}}


def outage(api: harness.Api, redis: harness.Redis, fault: str) -> dict:
    """Stop Redis and start every kind of job through the API; every answer comes at once."""
    if fault == "killed":
        redis.stop()
    else:
        redis.freeze()
    sent: dict = {"batches": [], "reports": [], "drift": [], "incidents": []}
    files = []
    first = 0
    for i, rows in enumerate(FILE_ROWS):
        content = data.metric_csv(rows, first_minute=first)
        first += rows
        files.append(content)
        answer = api.call("POST", "/api/v1/ingestion/", files={"file": (f"m{i}.csv", content)})
        assert answer.status_code == 202, answer.text[:1000]
        sent["batches"].append(answer.json()["id"])
    sent["rows"] = dict(zip(sent["batches"], FILE_ROWS, strict=True))

    # The same file again: the batch waiting for Redis, not a dead one and not a new one.
    again = api.call("POST", "/api/v1/ingestion/", files={"file": ("m0-again.csv", files[0])})
    assert again.status_code == 200, again.text[:1000]
    assert again.json()["id"] == sent["batches"][0] and again.json()["duplicate"] is True
    assert again.json()["status"] == "queued", again.json()

    for body in (
        {"kind": "register", "format": "csv"},
        {"kind": "model_card", "format": "markdown", "model": MODEL},
    ):
        answer = api.call("POST", "/api/v1/reports/", json=body)
        assert answer.status_code == 202, answer.text[:1000]
        sent["reports"].append(answer.json()["id"])

    for seed in (1, 2):
        reference, current = data.drift_samples(seed)
        answer = api.call(
            "POST",
            "/api/v1/drift-runs/",
            data={"model": MODEL, "version": VERSION},
            files={"reference": ("ref.csv", reference), "current": ("cur.csv", current)},
        )
        assert answer.status_code == 202, answer.text[:1000]
        sent["drift"].append(answer.json()["id"])

    for n in (1, 2):
        answer = api.call(
            "POST",
            "/api/v1/incidents/",
            json={"model": MODEL, "title": f"Outage incident {n}", "severity": "sev3"},
        )
        assert answer.status_code == 201, answer.text[:1000]
        sent["incidents"].append(answer.json()["reference"])

    # Reads and the records just made answer too, without Redis.
    for batch_id in sent["batches"]:
        assert api.get_json(f"/api/v1/ingestion/{batch_id}/")["status"] == "queued"

    slow = [t for t in api.timings if t[1] >= REQUEST_BOUND]
    assert not slow, f"slower than {REQUEST_BOUND}s with Redis down: {slow} of {api.timings}"
    assert not redis.ping()
    return sent


def wait_for_all(api: harness.Api, site, sent: dict, w: harness.Worker) -> float:
    """Wait until every job is final; returns the monotonic time the last one was seen so."""

    def pending() -> list[str]:
        left = []
        for batch_id in sent["batches"]:
            if api.get_json(f"/api/v1/ingestion/{batch_id}/")["status"] in ("queued", "running"):
                left.append(f"batch {batch_id}")
        for report_id in sent["reports"]:
            if api.get_json(f"/api/v1/reports/{report_id}/")["status"] in ("queued", "running"):
                left.append(f"report {report_id}")
        for run_id in sent["drift"]:
            if api.get_json(f"/api/v1/drift-runs/{run_id}/")["status"] in ("queued", "running"):
                left.append(f"drift run {run_id}")
        deliveries = harness.query(site, "SELECT id, status FROM notifications_webhookdelivery")
        sent["deliveries"] = [pk for pk, _ in deliveries]
        left += [f"delivery {pk}" for pk, status in deliveries if status != "delivered"]
        # A job's row is finished just after its record.
        unfinished = "SELECT task, object_id, state FROM jobs_job WHERE state <> ALL(%s)"
        left += [f"job {row}" for row in harness.query(site, unfinished, ["done", "failed"])]
        return left

    harness.wait_until(
        lambda: not pending(),
        RECOVERY_BOUND,
        lambda: (
            f"not done {RECOVERY_BOUND}s after Redis restarted: {pending()}\n"
            f"jobs: {harness.query(site, 'SELECT * FROM jobs_job ORDER BY id')}\n"
            f"worker log:\n{w.log_text()[-6000:]}"
        ),
        interval=0.2,
    )
    return time.monotonic()


def check_exactly_once(api: harness.Api, site, sent: dict, hook) -> int:
    """Check every job's outcome; returns how many jobs were done after one start each."""
    for batch_id, rows in sent["rows"].items():
        batch = api.get_json(f"/api/v1/ingestion/{batch_id}/")
        assert batch["status"] == "succeeded", (batch_id, batch["status"], batch.get("error"))
        assert (batch["rows_loaded"], batch["rows_duplicate"]) == (rows, 0), batch
    stored = harness.query(
        site,
        "SELECT batch_id, count(*) FROM monitoring_observation WHERE batch_id = ANY(%s) "
        "GROUP BY batch_id",
        sent["batches"],
    )
    assert dict(stored) == sent["rows"]

    media = Path(site.env["MLGOV_VAR_DIR"]) / "media"
    for report_id in sent["reports"]:
        report = api.get_json(f"/api/v1/reports/{report_id}/")
        assert report["status"] == "done", (report_id, report["status"], report.get("error"))
        download = api.call("GET", report["download_url"])
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == report["sha256"]
        files = [p for p in (media / "reports" / str(report_id)).rglob("*") if p.is_file()]
        assert len(files) == 1, files

    for run_id in sent["drift"]:
        run = api.get_json(f"/api/v1/drift-runs/{run_id}/")
        assert run["status"] == "succeeded", run

    # One POST per delivery, each delivery recorded delivered after one attempt.
    assert len(sent["deliveries"]) == len(sent["incidents"])
    posted = [delivery_header(r) for r in hook.requests]
    assert sorted(posted) == sorted(str(pk) for pk in sent["deliveries"]), posted
    attempts = harness.query(site, "SELECT attempts FROM notifications_webhookdelivery")
    assert all(n == 1 for (n,) in attempts), attempts

    # Each job was started by a worker exactly once.
    completed = 0
    for task, ids in (
        (INGEST, sent["batches"]),
        (REPORT, sent["reports"]),
        (DRIFT, sent["drift"]),
        (WEBHOOK, sent["deliveries"]),
    ):
        rows = harness.job_rows(site, task)
        assert {pk: rows[pk][:2] for pk in ids} == {pk: ("done", 1) for pk in ids}, rows
        completed += sum(rows[pk][:2] == ("done", 1) for pk in ids)
    return completed


def delivery_header(received: listeners.Received) -> str | None:
    return {k.lower(): v for k, v in received.headers.items()}.get("x-mlgov-delivery")
