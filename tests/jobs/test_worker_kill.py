"""A whole worker SIGKILLed mid-job: its job is taken over and finishes exactly once within a
bound (issue 13, part 2).

Real processes on loopback: a throwaway ``redis-server``, gunicorn, and Celery workers with
the prefork pool at concurrency 1 (a main process and one pool child) on one throwaway
PostgreSQL database and media folder, with a 6 s lease. The worker's MAIN process is
SIGKILLed while its pool child runs a 200k-row ingestion, and again while one renders a
model-card PDF. Celery's prefork pool asks the kernel to SIGKILL each pool child when its
parent dies (``PR_SET_PDEATHSIG``), so killing the main process takes the child with it, as
a dead container takes all its processes: the test checks that. Embedded beat (``-B``) has
no such link and outlives its parent (printed); the test then kills whatever is left of the
process group, as the container's death would. Nothing acknowledges
the message, and Redis hands it back only after the visibility timeout (hours), so it is the
outbox's reaper, on the beat of a new worker, that brings the job back once its lease runs
out; or, when a second message for the job was already queued (the dispatcher's beat and the
request both sent it), the new worker takes the job over at once, its lease's owner being a
dead process on this host. Either way it runs once more, and once only.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import pytest

from tests import live_server
from tests.jobs import data, harness
from tests.jobs.world import MODEL
from tests.monitoring.ingestion.paused import paused_worker_env

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(not live_server.postgres_url(), reason="needs PostgreSQL"),
]

LEASE = 6  # seconds; renewed every 2 s by the heartbeat
PAUSE = 3  # seconds the first worker pauses at each ingestion stage
ROWS = 200_000
INGEST_BOUND = 150.0  # seconds from the SIGKILL to the batch loaded (includes a full re-run)
REPORT_BOUND = 60.0  # seconds from the SIGKILL to the PDF stored

INGEST = "monitoring.ingest_batch"
REPORT = "reports.generate_report"


def test_a_worker_killed_mid_job_is_replaced_and_its_jobs_finish_exactly_once(
    tmp_path: Path, capsys
):
    with (
        harness.throwaway_redis(tmp_path / "redis") as redis,
        live_server.site(
            tmp_path,
            "jobs_kill",
            **harness.broker_env(
                redis,
                MLGOV_JOB_LEASE_SECONDS=str(LEASE),
                MLGOV_JOB_TICK_SECONDS="1",
                MLGOV_JOB_RESEND_SECONDS="4",
            ),
        ) as site,
    ):
        world = harness.make_world(site)
        figures = {}
        with live_server.server(site, "gunicorn", log=tmp_path / "gunicorn.log") as base:
            api = harness.Api(base, world["token"])

            # 1. A 200k-row ingestion; the worker running it dies.
            # The load takes about a second: this worker pauses PAUSE s at each stage (the
            # ingestion's own test seam, the last pause inside the load transaction), so the
            # kill lands while the rows are being inserted or inserted but not committed.
            with harness.worker(
                site,
                log=tmp_path / "worker-a.log",
                name="a",
                extra_env=paused_worker_env(PAUSE),
            ) as first:
                first_pool = first.pool_pids()
                content = data.metric_csv(ROWS)
                answer = api.call(
                    "POST", "/api/v1/ingestion/", files={"file": ("big.csv", content)}
                )
                assert answer.status_code == 202, answer.text[:1000]
                batch_id = answer.json()["id"]
                harness.wait_until(
                    lambda: api.get_json(f"/api/v1/ingestion/{batch_id}/")["stage"] == "loading",
                    60,
                    lambda: f"batch {batch_id} never loading:\n{first.log_text()[-3000:]}",
                    interval=0.05,
                )
                time.sleep(0.5)
                figures["a"] = kill_worker(first, first_pool)
                killed = time.monotonic()
                batch = api.get_json(f"/api/v1/ingestion/{batch_id}/")
                assert (batch["status"], batch["rows_loaded"]) == ("running", 0), batch
                assert observations(site, batch_id) == 0
                assert harness.job_rows(site, INGEST)[batch_id][:2] == ("running", 1)

            # 2. A new worker (with beat): the reaper re-queues the job once its lease ran
            # out and the batch loads once.
            with harness.worker(site, log=tmp_path / "worker-b.log", name="b", beat=True) as second:
                second_pool = second.pool_pids()
                batch = wait_final(
                    lambda: api.get_json(f"/api/v1/ingestion/{batch_id}/"),
                    INGEST_BOUND - (time.monotonic() - killed),
                    second,
                )
                figures["ingestion"] = time.monotonic() - killed
                assert batch["status"] == "succeeded", batch
                assert (batch["rows_loaded"], batch["rows_duplicate"]) == (ROWS, 0), batch
                attempts = "SELECT attempts FROM monitoring_ingestionbatch WHERE id = %s"
                assert harness.query(site, attempts, batch_id) == [(2,)]
                assert observations(site, batch_id) == ROWS
                assert job_final(site, INGEST, batch_id) == ("done", 2)

                # 3. A model-card PDF; this worker dies in turn while rendering it.
                answer = api.call(
                    "POST",
                    "/api/v1/reports/",
                    json={"kind": "model_card", "format": "pdf", "model": MODEL},
                )
                assert answer.status_code == 202, answer.text[:1000]
                report_id = answer.json()["id"]
                wait_running(site, REPORT, report_id, second, hold=0)
                figures["b"] = kill_worker(second, second_pool)
                killed = time.monotonic()
                report = api.get_json(f"/api/v1/reports/{report_id}/")
                assert report["status"] in ("queued", "running"), report

            with harness.worker(site, log=tmp_path / "worker-c.log", name="c", beat=True) as third:
                report = wait_final(
                    lambda: api.get_json(f"/api/v1/reports/{report_id}/"), REPORT_BOUND, third
                )
                figures["report"] = time.monotonic() - killed
            assert report["status"] == "done", report
            download = api.call("GET", report["download_url"])
            assert download.status_code == 200
            assert download.content.startswith(b"%PDF")
            assert hashlib.sha256(download.content).hexdigest() == report["sha256"]
            media = Path(site.env["MLGOV_VAR_DIR"]) / "media" / "reports" / str(report_id)
            assert [p.name for p in media.rglob("*") if p.is_file()] == [report["filename"]]
            assert job_final(site, REPORT, report_id) == ("done", 2)

    with capsys.disabled():
        print(
            f"\n[worker SIGKILL] lease {LEASE} s: {ROWS:,}-row batch loaded once "
            f"{figures['ingestion']:.1f} s after its worker's SIGKILL (both runs included); "
            f"model-card PDF stored once {figures['report']:.1f} s after its worker's SIGKILL; "
            f"still running 3 s after their parent's SIGKILL: {figures['a']} {figures['b']}"
        )


def observations(site, batch_id: int) -> int:
    query = "SELECT count(*) FROM monitoring_observation WHERE batch_id = %s"
    return harness.query(site, query, batch_id)[0][0]


def job_final(site, task: str, object_id: int) -> tuple[str, int]:
    """(state, runs) of the job once final: the record is finished inside the job's body, the
    job row just after it."""
    return harness.wait_until(
        lambda: (
            (row := harness.job_rows(site, task)[object_id])[0] in ("done", "failed") and row[:2]
        ),
        10,
        lambda: f"{task}({object_id}) not final: {harness.job_rows(site, task)[object_id]}",
    )


def wait_running(site, task: str, object_id: int, w: harness.Worker, *, hold: float) -> None:
    """Wait until the worker has claimed the job, then ``hold`` seconds more."""
    harness.wait_until(
        lambda: harness.job_rows(site, task).get(object_id, ("",))[0] == "running",
        60,
        lambda: f"{task}({object_id}) never started:\n{w.log_text()[-3000:]}",
        interval=0.02,
    )
    time.sleep(hold)


def kill_worker(w: harness.Worker, pool: list[int]) -> dict[str, bool]:
    """SIGKILL the worker's main process; then, for its pool process (``pool``, as the worker
    named it) and any other child (beat with -B), whether it still runs 3 s later. Whatever
    is left of its process group is then killed, as the container's death would."""
    assert pool, "the worker named no pool process"
    children = {pid: "pool" if pid in pool else "other" for pid in w.children()}
    assert set(pool) <= set(children), (pool, children)
    os.kill(w.pid, signal.SIGKILL)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(harness.alive(pid) for pid in children):
        time.sleep(0.05)
    survivors = {f"{kind} {pid}": harness.alive(pid) for pid, kind in children.items()}
    assert not any(harness.alive(pid) for pid in pool), f"a pool process outlived: {survivors}"
    os.killpg(w.pid, signal.SIGKILL)
    w.process.wait(timeout=10)
    return survivors


def wait_final(read, timeout: float, w: harness.Worker) -> dict:
    last: dict = {}

    def final():
        last.update(read())
        return last["status"] in ("succeeded", "failed", "done")

    harness.wait_until(
        final,
        timeout,
        lambda: f"still {last.get('status')} after {timeout:.0f}s: {last}\n{w.log_text()[-5000:]}",
        interval=0.25,
    )
    return last
