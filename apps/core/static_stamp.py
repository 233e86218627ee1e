"""Whether the collected static files are up to date: a fingerprint of every file the static
finders would collect (path, size, modification time) and of where and how they are stored.

``manage.py refresh_static`` compares it with the one recorded by the last collection and runs
``collectstatic`` only when they differ (or the collected files are gone), so a repeated
``make run`` does not spend a minute compressing the same files again. No ORM.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import staticfiles_storage

#: The same patterns ``collectstatic`` ignores by default.
IGNORE_PATTERNS = ["CVS", ".*", "*~"]


def stamp_path() -> Path:
    """Where the fingerprint of the last collection is kept (``var/``, not the collected
    files: nothing in there is served)."""
    return Path(settings.VAR_DIR) / "static-stamp.json"


def fingerprint() -> str:
    """SHA-256 over the storage backend, the destination and every source file's relative
    path, size and modification time (the files are not read: listing them takes tens of
    milliseconds)."""
    digest = hashlib.sha256()
    backend = settings.STORAGES["staticfiles"]["BACKEND"]
    digest.update(f"{backend}\0{settings.STATIC_ROOT}\0{settings.STATIC_URL}\n".encode())
    entries = []
    for finder in get_finders():
        for path, storage in finder.list(IGNORE_PATTERNS):
            prefix = getattr(storage, "prefix", None) or ""
            stat = os.stat(storage.path(path))
            entries.append((os.path.join(prefix, path), stat.st_size, stat.st_mtime_ns))
    for name, size, mtime in sorted(entries):
        digest.update(f"{name}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def collected_files_present() -> bool:
    """The destination holds a collection (its manifest, for storages that keep one)."""
    root = Path(settings.STATIC_ROOT)
    if not root.is_dir():
        return False
    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if manifest:
        return (root / manifest).is_file()
    return any(root.iterdir())


def recorded() -> str | None:
    try:
        return json.loads(stamp_path().read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def record(value: str) -> None:
    path = stamp_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": value, "static_root": str(settings.STATIC_ROOT)}))
    tmp.replace(path)


def is_fresh(value: str) -> bool:
    """Nothing to collect: the sources are those of the last collection, which is still there."""
    return recorded() == value and collected_files_present()
