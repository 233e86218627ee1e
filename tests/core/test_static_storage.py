"""The static files storage (apps/core/static_storage.py): hashed names and brotli plus gzip
for mlgov's own files, gzip alone for the API docs' vendored assets (a fresh `make run`
spent most of its time compressing those with brotli)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest
from django.core.management import call_command

from tests.core.fresh_process import run_with_settings

JS = "function shown(x) { return document.querySelector(x); }\n" * 400


@pytest.fixture
def collected(tmp_path, settings) -> Path:
    source = tmp_path / "src"
    (source / "js").mkdir(parents=True)
    (source / "js" / "site.js").write_text(JS)
    vendor = source / "drf_spectacular_sidecar" / "swagger-ui-dist"
    vendor.mkdir(parents=True)
    (vendor / "swagger-ui-bundle.js").write_text(JS.replace("shown", "bundle"))
    (vendor / "favicon-32x32.png").write_bytes(b"\x89PNG\r\n" + bytes(range(256)) * 4)
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = tmp_path / "collected"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "apps.core.static_storage.StaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def _names(root: Path, folder: str) -> set[str]:
    return {p.name for p in (root / folder).iterdir()}


def _hashed(names: set[str], stem: str) -> str:
    """The name Django's manifest gave ``stem``.js (12 hexadecimal characters of its hash)."""
    (name,) = [n for n in names if re.fullmatch(rf"{re.escape(stem)}\.[0-9a-f]{{12}}\.js", n)]
    return name


def test_mlgovs_own_files_are_hashed_and_compressed_with_brotli_and_gzip(collected):
    names = _names(collected, "js")
    hashed = _hashed(names, "site")

    assert {f"{hashed}.br", f"{hashed}.gz", "site.js.br", "site.js.gz"} <= names
    assert brotli.decompress((collected / "js" / f"{hashed}.br").read_bytes()).decode() == JS
    assert gzip.decompress((collected / "js" / f"{hashed}.gz").read_bytes()).decode() == JS


def test_the_api_docs_assets_are_compressed_with_gzip_only(collected):
    folder = "drf_spectacular_sidecar/swagger-ui-dist"
    names = _names(collected, folder)
    hashed = _hashed(names, "swagger-ui-bundle")

    assert f"{hashed}.gz" in names and "swagger-ui-bundle.js.gz" in names
    assert not [n for n in names if n.endswith(".br")]
    data = gzip.decompress((collected / folder / f"{hashed}.gz").read_bytes()).decode()
    assert data == JS.replace("shown", "bundle")
    # Images are left as they are, as WhiteNoise does.
    assert not [n for n in names if n.startswith("favicon") and n.endswith(".gz")]


@pytest.mark.parametrize(
    ("debug", "backend"),
    [
        ("", "apps.core.static_storage.StaticFilesStorage"),
        ("true", "django.contrib.staticfiles.storage.StaticFilesStorage"),
    ],
)
def test_the_site_collects_with_it_unless_debugging(tmp_path, debug, backend):
    code = "from django.conf import settings as s; print(s.STORAGES['staticfiles']['BACKEND'])"

    result = run_with_settings(code, tmp_path, DJANGO_DEBUG=debug)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend
