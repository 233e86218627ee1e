"""mlgov's model API side by side with MLflow's model registry, on the same model names.

Starts a real MLflow tracking/registry server (``mlflow server``, its default workers) on
loopback, from its own virtualenv ``var/bench-venv-mlflow`` (created on first use with a pinned
``mlflow`` and ``psycopg2-binary``; MLflow is not a dependency of mlgov) and backed by its own
PostgreSQL database (``mlflow_scale`` on the server of the scale database). Loads into it, once,
every registered model of the scale database by name, with its risk tier and business unit as
tags, through MLflow's REST API (a few requests in parallel); a later run reuses the database
when it already holds the same names.

Then times, alternating request by request so both see the same machine, ``--mlflow-requests``
requests per query and side after warm-up:

- list 100: MLflow ``registered-models/search?max_results=100`` against mlgov
  ``/api/v1/models/?page_size=100`` (as ``validator``, who sees every model);
- name search: MLflow ``filter=name ILIKE '%term%'`` against mlgov ``?q=term`` (a term of the
  model names whose matches are the same on both sides: mlgov's search also reads the slug,
  purpose, description and algorithm);
- filter by tier tag: ``tags.tier = '1'`` against ``?risk_tier=1``;
- filter by business unit: ``tags.business_unit = 'code'`` against ``?business_unit=code``.

Prints both p50s and p95s and the ratio mlgov/MLflow of the p50s against the target
(``MAX_RATIO_TO_MLFLOW``), and checks that both sides count the same matches for each query.

    .venv/bin/python -m benchmarks.scale.mlflow_side \\
        --database-url postgres://postgres@127.0.0.1:5432/mlgov_scale [--base-url URL --token KEY]

Alone, without ``--base-url``, it serves the database with gunicorn itself (two workers,
``deploy/gunicorn.conf.py``) and makes a ``validator`` token with ``manage.py drf_create_token``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

from benchmarks.scale.common import (
    MAX_RATIO_TO_MLFLOW,
    ROOT,
    VAR,
    Figure,
    percentile,
    print_figures,
)

SECTION = "API side by side with MLflow's registry (same models, same run)"
MLFLOW_PIN = ("mlflow==3.17.2", "psycopg2-binary==2.9.13")
VENV = VAR / "bench-venv-mlflow"
MLFLOW_DB = "mlflow_scale"
SEARCH_MAX = 1000  # MLflow's largest page of registered models
WARMUP = 8  # requests per side before the clock starts (MLflow runs several workers)


# --- options ---------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("MLflow side by side (benchmarks/scale/mlflow_side.py)")
    group.add_argument(
        "--mlflow-requests", type=int, default=30, help="Timed requests per query and side."
    )
    group.add_argument(
        "--mlflow-port",
        type=int,
        default=0,
        help="MLflow's port on 127.0.0.1 (default: a free one).",
    )
    group.add_argument(
        "--mlflow-database",
        default=None,
        help=f"MLflow's database (default {MLFLOW_DB} for mlgov_scale, mlflow_<name> for another).",
    )
    group.add_argument(
        "--mlflow-load-threads", type=int, default=8, help="Parallel requests while loading."
    )
    group.add_argument(
        "--mlflow-search", default=None, help="The name-search term (default: chosen from names)."
    )
    group.add_argument(
        "--mlflow-token",
        default=None,
        help="A validator's API token for mlgov (default: the harness's, or a new one).",
    )


# --- HTTP ------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection per side, reopened when the server closes it."""

    def __init__(self, base_url: str, headers: dict | None = None):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Accept": "application/json", **(headers or {})}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, 6):
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # A keep-alive connection the server closed, or a worker it is restarting
                # (uvicorn replaces a child that missed its ping on a loaded machine).
                self.conn.close()
                if attempt == 5:
                    raise
                time.sleep(attempt)
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        try:
            parsed = json.loads(payload) if payload else {}
        except ValueError:
            parsed = {"_text": payload[:300].decode(errors="replace")}
        return response.status, parsed

    def get(self, path: str, params: dict | None = None) -> dict:
        query = f"?{urlencode(params)}" if params else ""
        status, parsed = self.request("GET", path + query)
        if status != 200:
            raise RuntimeError(f"GET {path + query}: {status} {str(parsed)[:300]}")
        return parsed

    def close(self) -> None:
        self.conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, *, timeout: float, log: str) -> None:
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited early ({proc.returncode}); see {log}")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            conn.request("GET", parts.path or "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s; see {log}")


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a server this module started, with the workers it forked (its own process group)."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- mlgov, when run alone -------------------------------------------------------------------


def mlgov_env(database_url: str, **extra: str) -> dict:
    """The environment of an mlgov process on ``database_url`` as production runs it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "mlgov.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "scale-benchmark"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
        **extra,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if not env.get("MLGOV_SIGNING_KEY") and not env.get("MLGOV_SIGNING_KEY_FILE"):
        env["MLGOV_SIGNING_KEY_FILE"] = str(VAR / "signing_key.pem")
    return env


@contextlib.contextmanager
def serve_mlgov(database_url: str, *, port: int = 0, workers: int = 2) -> Iterator[str]:
    """The harness's gunicorn when it exists, else gunicorn with ``deploy/gunicorn.conf.py``."""
    try:
        from benchmarks.scale.server import serve_mlgov as harness_serve
    except ImportError:
        harness_serve = None
    if harness_serve is not None:
        with harness_serve(database_url) as served:
            yield served if isinstance(served, str) else served.base_url
        return
    port = port or free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept for the reader of a failure
        prefix="mlgov-scale-gunicorn-", suffix=".log", delete=False
    )
    env = mlgov_env(
        database_url,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        GUNICORN_LOG_LEVEL="warning",
    )
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    cmd = [str(gunicorn), "--config", "deploy/gunicorn.conf.py", "--access-logfile", "/dev/null"]
    cmd.append("mlgov.wsgi:application")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/", proc, timeout=90, log=log.name)
        yield base
    finally:
        stop(proc)
    os.unlink(log.name)  # kept when the server failed


def make_token(database_url: str, username: str = "validator") -> str:
    """A new API token for ``username`` through mlgov's own command."""
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "manage.py",
            "drf_create_token",
            username,
            "--name",
            "scale benchmark",
            "--expires-days",
            "1",
        ],
        cwd=ROOT,
        env=mlgov_env(database_url),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split("Generated token ", 1)[1].split()[0]


def harness_token(args) -> str | None:
    for name in ("mlflow_token", "validator_token", "token"):
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            return value
    tokens = getattr(args, "tokens", None)
    if isinstance(tokens, dict) and tokens.get("validator"):
        return tokens["validator"]
    return None


# --- MLflow ----------------------------------------------------------------------------------


def ensure_venv() -> None:
    marker = VENV / ".installed"
    if marker.exists() and marker.read_text() == " ".join(MLFLOW_PIN):
        return
    print(f"Installing {', '.join(MLFLOW_PIN)} into {VENV} …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *MLFLOW_PIN]
    subprocess.run(pip, check=True)
    marker.write_text(" ".join(MLFLOW_PIN))


def server_url(database_url: str, name: str, scheme: str = "postgresql") -> str:
    return urlunsplit(urlsplit(database_url)._replace(scheme=scheme, path=f"/{name}"))


def scale_models(database_url: str) -> list[tuple[str, str | None, str | None]]:
    """(name, tier, business unit code) of every registered model, by name."""
    sql = """
        SELECT m.name, m.risk_tier::text, b.code
        FROM inventory_registeredmodel m JOIN inventory_businessunit b ON b.id = m.business_unit_id
        ORDER BY m.name
    """
    with psycopg.connect(server_url(database_url, urlsplit(database_url).path[1:])) as conn:
        return [tuple(row) for row in conn.execute(sql)]


def mlflow_names(admin_url: str, database: str) -> set[str] | None:
    """The names MLflow's database holds (None: no such database or no registry yet)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            return None
    with psycopg.connect(server_url(admin_url, database)) as conn:
        if not conn.execute("SELECT to_regclass('registered_models')").fetchone()[0]:
            return None
        return {row[0] for row in conn.execute("SELECT name FROM registered_models")}


def mlflow_database_for(database_url: str) -> str:
    """``mlflow_scale`` for ``mlgov_scale``; ``mlflow_<name>`` for another scale database (a
    quick one, a copy), so runs on different data never drop each other's registry."""
    name = urlsplit(database_url).path.lstrip("/")
    return MLFLOW_DB if name == "mlgov_scale" else f"mlflow_{name.removeprefix('mlgov_')}"[:63]


def recreate_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


@contextlib.contextmanager
def serve_mlflow(backend_url: str, port: int) -> Iterator[str]:
    workdir = tempfile.mkdtemp(prefix="mlgov-scale-mlflow-")
    log_path = os.path.join(workdir, "mlflow.log")
    port = port or free_port()
    cmd = [
        str(VENV / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_url,
        "--artifacts-destination",
        os.path.join(workdir, "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health", proc, timeout=180, log=log_path)
        # Every worker up: the first answers /health while the others still import MLflow.
        time.sleep(10)
        wait_http(base + "/health", proc, timeout=60, log=log_path)
        yield base
    finally:
        stop(proc)
    shutil.rmtree(workdir, ignore_errors=True)  # kept, with its log, when the server failed


def load_models(base: str, models: list, threads: int) -> float:
    """Create every model with its tags through the REST API; seconds spent."""
    started = time.perf_counter()
    chunks = [models[i::threads] for i in range(threads)]

    def load(chunk):
        client = Client(base)
        try:
            for name, tier, unit in chunk:
                tags = [{"key": "business_unit", "value": unit}]
                if tier is not None:
                    tags.append({"key": "tier", "value": tier})
                status, body = client.request(
                    "POST",
                    "/api/2.0/mlflow/registered-models/create",
                    {"name": name, "tags": tags},
                )
                if status != 200 and body.get("error_code") != "RESOURCE_ALREADY_EXISTS":
                    raise RuntimeError(f"MLflow refused {name!r}: {status} {body}")
        finally:
            client.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(load, chunks))
    return time.perf_counter() - started


# --- the queries -----------------------------------------------------------------------------


def choose_search_term(database_url: str) -> str:
    """A word of the model names matched by the same models on both sides (mlgov also searches
    slug, purpose, description and algorithm), with a few hundred matches at most."""
    sql = """
        WITH words AS (
            SELECT lower(w) AS word, count(*) AS n
            FROM inventory_registeredmodel, regexp_split_to_table(name, '[^A-Za-z0-9]+') w
            WHERE length(w) >= 5 GROUP BY 1
        )
        SELECT word FROM words w
        WHERE n BETWEEN 10 AND 400
          AND n = (SELECT count(*) FROM inventory_registeredmodel m
                   WHERE m.name ILIKE '%%' || w.word || '%%' OR m.slug ILIKE '%%' || w.word || '%%'
                      OR m.purpose ILIKE '%%' || w.word || '%%'
                      OR m.description ILIKE '%%' || w.word || '%%'
                      OR m.algorithm ILIKE '%%' || w.word || '%%')
        ORDER BY abs(n - 100), word LIMIT 1
    """
    with psycopg.connect(server_url(database_url, urlsplit(database_url).path[1:])) as conn:
        row = conn.execute(sql).fetchone()
    if row is None:
        raise RuntimeError("no word of the model names is searched alike by both sides")
    return row[0]


def most_common_unit(models: list) -> str:
    counts: dict[str, int] = {}
    for _, _, unit in models:
        counts[unit] = counts.get(unit, 0) + 1
    return max(sorted(counts), key=counts.get)


def mlflow_count(client: Client, filter_string: str | None) -> int:
    total, token = 0, None
    while True:
        params = {"max_results": SEARCH_MAX}
        if filter_string:
            params["filter"] = filter_string
        if token:
            params["page_token"] = token
        page = client.get("/api/2.0/mlflow/registered-models/search", params)
        total += len(page.get("registered_models", []))
        token = page.get("next_page_token")
        if not token:
            return total


def mlgov_count(client: Client, params: dict) -> int:
    page = client.get("/api/v1/models/", {**params, "page_size": 500})
    if isinstance(page.get("count"), int):
        return page["count"]
    total = 0
    while True:  # a cursor-paginated list: follow the links
        total += len(page.get("results", []))
        if not page.get("next"):
            return total
        nxt = urlsplit(page["next"])
        page = client.get(nxt.path + (f"?{nxt.query}" if nxt.query else ""))


def queries(term: str, tier: str, unit: str) -> list[tuple[str, str | None, dict]]:
    """(name, MLflow filter, mlgov parameters) of each compared query."""
    return [
        ("list 100", None, {}),
        (f"name search {term!r}", f"name ILIKE '%{term}%'", {"q": term}),
        (f"filter by tier tag (tier {tier})", f"tags.tier = '{tier}'", {"risk_tier": tier}),
        (
            f"filter by business unit ({unit})",
            f"tags.business_unit = '{unit}'",
            {"business_unit": unit},
        ),
    ]


def measure(mlflow: Client, mlgov: Client, requests: int, term: str, tier: str, unit: str):
    figures = []
    for name, filter_string, params in queries(term, tier, unit):
        flow_params = {"max_results": 100, **({"filter": filter_string} if filter_string else {})}
        ours_params = {"page_size": 100, **params}

        def theirs(p=flow_params):
            return mlflow.get("/api/2.0/mlflow/registered-models/search", p)

        def ours(p=ours_params):
            return mlgov.get("/api/v1/models/", p)

        first_theirs, first_ours = theirs(), ours()
        for _ in range(WARMUP):  # warm-up: every MLflow worker has served a few
            theirs(), ours()
        samples: dict[str, list[float]] = {"mlflow": [], "mlgov": []}
        for i in range(requests):  # alternate the sides, each going first half the time
            order = (("mlflow", theirs), ("mlgov", ours))
            for side, call in order if i % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                call()
                samples[side].append((time.perf_counter() - start) * 1000)
        theirs_n, ours_n = mlflow_count(mlflow, filter_string), mlgov_count(mlgov, params)
        rows = len(first_theirs.get("registered_models", [])), len(first_ours.get("results", []))
        p50 = {side: percentile(s, 50) for side, s in samples.items()}
        p95 = {side: percentile(s, 95) for side, s in samples.items()}
        ratio = p50["mlgov"] / p50["mlflow"]
        figures += [
            Figure(
                SECTION,
                f"{name}: MLflow p50",
                p50["mlflow"],
                "ms",
                detail=f"p95 {p95['mlflow']:.1f}",
            ),
            Figure(
                SECTION, f"{name}: mlgov p50", p50["mlgov"], "ms", detail=f"p95 {p95['mlgov']:.1f}"
            ),
            Figure(
                SECTION,
                f"{name}: mlgov / MLflow (p50)",
                ratio,
                "×",
                MAX_RATIO_TO_MLFLOW,
                detail=f"{requests} requests each; {rows[0]} vs {rows[1]} rows a page; "
                f"load average {os.getloadavg()[0]:.1f}",
                extra={"mlflow": samples["mlflow"], "mlgov": samples["mlgov"]},
            ),
            Figure(
                SECTION,
                f"{name}: matches, mlgov − MLflow",
                abs(ours_n - theirs_n),
                "models",
                0,
                detail=f"mlgov {ours_n:,}, MLflow {theirs_n:,}",
            ),
        ]
    return figures


# --- the part --------------------------------------------------------------------------------


def run(args, *, database_url: str, base_url: str) -> list[Figure]:
    ensure_venv()
    models = scale_models(database_url)
    names = {name for name, _, _ in models}
    admin_url = server_url(database_url, "postgres")
    database = getattr(args, "mlflow_database", None) or mlflow_database_for(database_url)
    held = mlflow_names(admin_url, database)
    reuse = held == names
    if not reuse:
        print(f"MLflow: (re)creating database {database} for {len(names):,} models", flush=True)
        recreate_database(admin_url, database)
    backend = server_url(database_url, database, scheme="postgresql+psycopg2")
    token = harness_token(args) or make_token(database_url)
    term = getattr(args, "mlflow_search", None) or choose_search_term(database_url)
    tiers = sorted({tier for _, tier, _ in models if tier is not None})
    tier = "1" if "1" in tiers else tiers[0]
    unit = most_common_unit(models)
    with serve_mlflow(backend, getattr(args, "mlflow_port", 0)) as mlflow_base:
        if reuse:
            print(f"MLflow: reusing {database} ({len(names):,} models)", flush=True)
        else:
            seconds = load_models(mlflow_base, models, getattr(args, "mlflow_load_threads", 8))
            print(f"MLflow: loaded {len(models):,} models in {seconds:.1f} s", flush=True)
        mlflow = Client(mlflow_base)
        mlgov = Client(base_url, {"Authorization": f"Token {token}"})
        try:
            requests = getattr(args, "mlflow_requests", 30)
            if getattr(args, "quick", False):
                requests = min(requests, 10)
            return measure(mlflow, mlgov, requests, term, tier, unit)
        finally:
            mlflow.close()
            mlgov.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mlgov_scale"
        ),
        help="The scale database (read; a token for validator is added unless --mlflow-token).",
    )
    parser.add_argument(
        "--base-url", help="mlgov already serving that database (default: start it)."
    )
    add_arguments(parser)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        base = args.base_url or stack.enter_context(serve_mlgov(args.database_url))
        figures = run(args, database_url=args.database_url, base_url=base)
    return 1 if print_figures(figures) else 0


if __name__ == "__main__":
    sys.exit(main())
