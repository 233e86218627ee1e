"""The scale database on the PostgreSQL server of ``DATABASE_URL``: built once, reused after.

Its name comes from the sizes and the seed (``mlgov_scale`` for the defaults). It is created,
migrated and filled by ``manage.py generate_scale_data`` only when it is missing or its stamp
differs; the stamp (sizes, seed, generator version) is the database's comment, written once the
generator has finished, so a build that failed half-way is never reused. ``--rebuild`` forces.
A reused database is migrated to the tree's migrations (nothing to do when it is current).

Also: copies (``CREATE DATABASE … TEMPLATE``) and drops, for the old tree's copy.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from benchmarks.scale.server import Tree, manage

GENERATOR = "generate_scale_data"


@dataclass(frozen=True)
class Sizes:
    models: int = 10_000
    observations: int = 10_000_000
    audit_events: int = 1_000_000
    heavy_observations: int = 1_000_000
    seed: int = 15

    def database_name(self) -> str:
        if self == Sizes():
            return "mlgov_scale"
        return (
            f"mlgov_scale_m{self.models}_o{self.observations}_a{self.audit_events}"
            f"_h{self.heavy_observations}_s{self.seed}"
        )

    def generator_args(self) -> list[str]:
        return [
            GENERATOR,
            f"--models={self.models}",
            f"--observations={self.observations}",
            f"--audit-events={self.audit_events}",
            f"--heavy-observations={self.heavy_observations}",
            f"--seed={self.seed}",
        ]


QUICK = Sizes(
    models=500, observations=200_000, audit_events=20_000, heavy_observations=50_000, seed=15
)


def url_for(database_url: str, name: str) -> str:
    """``database_url`` naming database ``name`` instead."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/" + name))


def database_of(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def _admin(database_url: str) -> psycopg.Connection:
    """An autocommit connection to the server's maintenance database."""
    return psycopg.connect(url_for(database_url, "postgres"), autocommit=True)


def exists(database_url: str, name: str) -> bool:
    with _admin(database_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def stamp_of(database_url: str, name: str) -> dict | None:
    with _admin(database_url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    if not row or not row[0]:
        return None
    try:
        return json.loads(row[0])
    except ValueError:
        return None


def _set_stamp(database_url: str, name: str, stamp: dict) -> None:
    with _admin(database_url) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(json.dumps(stamp, sort_keys=True))
            )
        )


def generator_version(tree: Tree) -> str:
    """The generator's ``GENERATOR_VERSION`` if its command states one, else a digest of its
    source (the command and the app's ``scale/`` package): a changed generator makes a new
    database."""
    commands = sorted(tree.path.glob(f"apps/*/management/commands/{GENERATOR}.py"))
    if not commands:
        raise SystemExit(
            f"manage.py {GENERATOR} is not in {tree.path}: the scale database cannot be built "
            "(pass --database NAME to measure an existing one)."
        )
    command = commands[0]
    declared = re.search(r"^GENERATOR_VERSION\s*=\s*['\"]?([\w.\-]+)", command.read_text(), re.M)
    if declared:
        return declared.group(1)
    package = command.parent.parent.parent / "scale"
    digest = hashlib.sha256()
    for path in [command, *sorted(package.rglob("*.py"))]:
        digest.update(path.relative_to(tree.path).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def create(database_url: str, name: str, *, template: str | None = None) -> None:
    """Create ``name`` (a copy of ``template`` if given; waits while others use the template)."""
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    for attempt in range(60):
        try:
            with _admin(database_url) as conn:
                conn.execute(query)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 59:
                raise
            time.sleep(5)  # someone is connected to the template: wait and retry


def drop(database_url: str, name: str) -> None:
    with _admin(database_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def ensure(database_url: str, sizes: Sizes, *, tree: Tree, rebuild: bool = False) -> str:
    """The URL of the scale database for ``sizes``, built or reused; migrated to ``tree``."""
    name = sizes.database_name()
    url = url_for(database_url, name)
    stamp = {**asdict(sizes), "generator": generator_version(tree)}
    found = stamp_of(database_url, name) if exists(database_url, name) else None
    if found == stamp and not rebuild:
        print(f"scale database {name}: reused (stamp {found})")
        manage(tree, url, "migrate", "--noinput", quiet=True)
        return url
    reason = "rebuild asked" if rebuild else ("stamp differs" if found else "missing")
    print(f"scale database {name}: building ({reason}); this takes a while at full size")
    drop(database_url, name)
    create(database_url, name)
    started = time.monotonic()
    manage(tree, url, "migrate", "--noinput", quiet=True)
    manage(tree, url, *sizes.generator_args())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    _set_stamp(database_url, name, stamp)
    print(f"scale database {name}: built in {time.monotonic() - started:.0f} s")
    return url


def size_of(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return row.fetchone()[0]


__all__ = [
    "QUICK",
    "Sizes",
    "create",
    "database_of",
    "drop",
    "ensure",
    "exists",
    "size_of",
    "url_for",
]
