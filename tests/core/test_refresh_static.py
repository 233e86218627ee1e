"""manage.py refresh_static: collectstatic only when the static sources changed (make run)."""

import io
import os
import time

import pytest
from django.core.management import call_command

from apps.core import static_stamp


@pytest.fixture
def sources(tmp_path, settings):
    """One source directory, a plain storage and a destination of the test's own."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "site.css").write_text("body { color: #222; }\n")
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = tmp_path / "collected"
    settings.VAR_DIR = tmp_path / "var"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return source


def _run(**options) -> str:
    out = io.StringIO()
    call_command("refresh_static", stdout=out, **options)
    return out.getvalue()


def _collections(monkeypatch) -> list[int]:
    """Counts the collectstatic runs the command starts: Django's own command's ``handle``,
    wrapped where Django loads it (by name: nothing here imports a command module)."""
    from django.core.management import load_command_class

    command = type(load_command_class("django.contrib.staticfiles", "collectstatic"))
    runs: list[int] = []
    real = command.handle

    def counting(self, *args, **kwargs):
        runs.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(command, "handle", counting)
    return runs


def test_it_collects_the_first_time_and_skips_when_nothing_changed(sources, settings, monkeypatch):
    runs = _collections(monkeypatch)
    assert "collected" in _run()
    assert (settings.STATIC_ROOT / "site.css").is_file()
    assert _run(verbosity=2) == "Static files unchanged since the last collection.\n"
    assert _run(verbosity=0) == ""
    assert len(runs) == 1


def test_it_collects_again_when_a_source_changes_or_appears(sources, settings, monkeypatch):
    runs = _collections(monkeypatch)
    _run(verbosity=0)
    css = sources / "site.css"
    css.write_text("body { color: #111; }\n")
    later = time.time() + 10  # an edit made after the collection (collectstatic compares times)
    os.utime(css, (later, later))
    _run(verbosity=0)
    assert "#111" in (settings.STATIC_ROOT / "site.css").read_text()
    (sources / "new.js").write_text("// new\n")
    _run(verbosity=0)
    assert (settings.STATIC_ROOT / "new.js").is_file()
    assert len(runs) == 3


def test_it_collects_again_when_the_collected_files_are_gone(sources, settings, monkeypatch):
    import shutil

    runs = _collections(monkeypatch)
    _run(verbosity=0)
    shutil.rmtree(settings.STATIC_ROOT)  # make clean
    _run(verbosity=0)
    assert (settings.STATIC_ROOT / "site.css").is_file()
    assert len(runs) == 2


def test_force_collects_even_when_unchanged(sources, monkeypatch):
    runs = _collections(monkeypatch)
    _run(verbosity=0)
    _run(verbosity=0, force=True)
    assert len(runs) == 2


def test_a_manifest_storage_counts_as_collected_only_with_its_manifest(sources, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT.mkdir()
    (settings.STATIC_ROOT / "site.css").write_text("stale")
    assert not static_stamp.collected_files_present()
    _run(verbosity=0)
    assert static_stamp.collected_files_present()
    assert static_stamp.is_fresh(static_stamp.fingerprint())
