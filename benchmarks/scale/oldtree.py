"""The old revision, on the same data: a ``git worktree`` of it under var/, its own virtual
environment only when its lock files differ, and a copy of the scale database migrated back to
the old revision's migrations (with the new tree's ``manage.py``, which knows how to undo the
new migrations), so the old code runs on its own schema with the same rows."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.scale import database
from benchmarks.scale.common import ROOT, VAR
from benchmarks.scale.server import Tree, manage

DEFAULT_OLD = "bb51d8e"  # main before issue 15's work began
WORKTREE = VAR / "scale-old"
OLD_VENV = VAR / "scale-old-venv"


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def migration_leaves(rev: str) -> dict[str, str]:
    """App label -> the last migration of the app at ``rev`` (from ``git ls-tree``)."""
    names = _git("ls-tree", "-r", "--name-only", rev, "--", "apps").splitlines()
    leaves: dict[str, str] = {}
    for name in names:
        parts = Path(name).parts
        if len(parts) == 4 and parts[2] == "migrations" and parts[3][:4].isdigit():
            app, migration = parts[1], Path(parts[3]).stem
            if migration > leaves.get(app, ""):
                leaves[app] = migration
    return leaves


def _python_for(rev: str) -> Path:
    """The current venv when the old revision's locks are the same, else one of its own."""
    same = (
        subprocess.run(
            ["git", "diff", "--quiet", rev, "HEAD", "--", "requirements/"], cwd=ROOT
        ).returncode
        == 0
    )
    if same:
        return ROOT / ".venv" / "bin" / "python"
    python = OLD_VENV / "bin" / "python"
    if not python.exists():
        print(f"old tree: its locks differ, making {OLD_VENV}")
        subprocess.run(["python3", "-m", "venv", str(OLD_VENV)], check=True)
        for lock in ("base.lock",):
            subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--require-hashes",
                    "-r",
                    str(WORKTREE / "requirements" / lock),
                ],
                check=True,
            )
    return python


@contextmanager
def old_tree(rev: str) -> Iterator[Tree]:
    """A worktree of ``rev`` under var/scale-old (removed afterwards)."""
    if WORKTREE.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(WORKTREE)], cwd=ROOT)
        shutil.rmtree(WORKTREE, ignore_errors=True)
    _git("worktree", "prune")
    _git("worktree", "add", "--detach", str(WORKTREE), rev)
    try:
        yield Tree(path=WORKTREE, python=_python_for(rev), label="old")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(WORKTREE)], cwd=ROOT)
        _git("worktree", "prune")


def migrate_back(new: Tree, url: str, rev: str) -> list[str]:
    """Unapply, on ``url``, every migration the old revision lacks; the commands run."""
    old = migration_leaves(rev)
    new_leaves = migration_leaves("HEAD")
    # Working-tree migrations not yet committed count as new too.
    for path in sorted(new.path.glob("apps/*/migrations/[0-9]*.py")):
        app = path.parent.parent.name
        if path.stem > new_leaves.get(app, ""):
            new_leaves[app] = path.stem
    done = []
    for app, leaf in sorted(new_leaves.items()):
        target = old.get(app, "zero")
        if target != leaf:
            manage(new, url, "migrate", app, target, "--noinput", quiet=True)
            done.append(f"migrate {app} {target}")
    return done


@contextmanager
def old_database(new: Tree, database_url: str, rev: str) -> Iterator[str]:
    """A copy of the scale database at ``database_url``, migrated back to ``rev``; dropped after."""
    source = database.database_of(database_url)
    name = f"{source}_old"[:63]
    database.drop(database_url, name)
    database.create(database_url, name, template=source)
    url = database.url_for(database_url, name)
    try:
        steps = migrate_back(new, url, rev)
        print(f"old database {name}: " + ("; ".join(steps) or "same migrations"))
        yield url
    finally:
        database.drop(database_url, name)
