"""No app imports another app's views: apps plug into each other's pages through registries
(model-page tabs, approval kinds), so a page can change without breaking another app.

``apps.core.views`` holds the shared view helpers (``require_perm``, ``render_page``…) and may
be imported by every app. A full layer contract is checked separately."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"
SHARED = {"core"}

# Imports that break the rule today, each with the work that removes it. Do not add to this.
KNOWN: set[tuple[str, str]] = set()


def _package(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).with_suffix("").parts[:-1])


def imported_modules(path: Path) -> set[str]:
    """Every module that ``path`` imports, anywhere in the file (top level or in functions),
    with relative imports resolved and ``from package import module`` counted as the module."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: level 1 is the file's own package
                package = _package(path)
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            modules.add(module)
            modules.update(f"{module}.{alias.name}" for alias in node.names)
    return modules


def views_imports_across_apps() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(APPS.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        own_app = path.relative_to(APPS).parts[0]
        for module in imported_modules(path):
            parts = module.split(".")
            if len(parts) < 3 or parts[0] != "apps" or "views" not in parts[2:]:
                continue
            if parts[1] != own_app and parts[1] not in SHARED:
                found.add(
                    (str(path.relative_to(ROOT)), ".".join(parts[: parts.index("views") + 1]))
                )
    return found


def test_no_app_imports_another_apps_views():
    new = views_imports_across_apps() - KNOWN
    assert not new, (
        "These modules import another app's views; register a tab (apps/core/tabs.py), an "
        "approval kind or a notification event, or move the shared code to a selector or "
        f"service: {sorted(new)}"
    )


def test_no_app_imports_the_inventory_views():
    assert not {m for m in views_imports_across_apps() if m[1] == "apps.inventory.views"}


def test_the_check_sees_views_imports_in_every_form(tmp_path, monkeypatch):
    """The scan finds absolute, from-package, relative and function-level imports."""
    app = tmp_path / "apps" / "alpha"
    (app / "api").mkdir(parents=True)
    sources = {
        "a.py": "from apps.beta.views import page\n",
        "b.py": "from apps.beta import views\n",
        "c.py": "def f():\n    import apps.beta.api.views\n",
        "d.py": "from ..beta.views import page\n",
        "e.py": "from apps.core.views import require_perm\nfrom apps.alpha import views\n",
        "api/f.py": "from ..views import page\nfrom apps.beta.selectors import x\n",
    }
    for name, text in sources.items():
        (app / name).write_text(text)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "APPS", tmp_path / "apps")

    assert views_imports_across_apps() == {
        ("apps/alpha/a.py", "apps.beta.views"),
        ("apps/alpha/b.py", "apps.beta.views"),
        ("apps/alpha/c.py", "apps.beta.api.views"),
        ("apps/alpha/d.py", "apps.beta.views"),
    }
