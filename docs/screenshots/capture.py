"""Screenshots of mlgov as each demo role sees it, at a desktop's and a phone's width, and its
PDF reports as page images: the record a change to the user's view is judged by ("before" and
"after" of one revision each). See README.md in this folder.

For one revision (``--rev``, default the current checkout's HEAD) it:

1. makes a git worktree of that revision under ``var/screenshots/src-<rev>`` (removed at the
   end unless ``--keep-worktree``);
2. runs it with the shared ``.venv`` when the revision's ``requirements/base.lock`` is the
   current checkout's, else with a virtual environment of its own under ``var/screenshots``
   made from that lock;
3. builds a throwaway SQLite database with the demo data (``migrate``, ``seed_demo``) in
   ``var/screenshots/<rev>/state`` and serves it with ``runserver`` on 127.0.0.1;
4. signs in as each demo role in Chromium (Playwright) and captures the pages the user's-view
   issue names, full page, at 1440 x 900 and 390 x 844, into
   ``var/screenshots/<rev>/<role>/<page>-<width>.png``;
5. generates the model card, lineage report, inventory register and audit extract as PDF with
   the revision's own ``generate_report`` and renders each page to
   ``var/screenshots/<rev>/pdf/<report>-p<N>.png`` (pypdfium2);
6. writes ``var/screenshots/<rev>/index.md`` listing every file with role, page and width,
   and what could not be captured (a page the role may not open, a page the revision lacks).

Not part of ``make test``: it takes minutes and judges nothing; people compare the images.
Run it with mlgov's development environment (Playwright and pypdfium2 are in the dev lock):

    .venv/bin/python docs/screenshots/capture.py --rev bb51d8e
    .venv/bin/python docs/screenshots/capture.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROLES = ("admin", "validator", "business_owner", "model_owner", "auditor", "viewer")
#: (width, height): a desktop and a phone. Screenshots are full page, so height is the
#: viewport's only (what is visible before scrolling: the sticky header, the banner).
SIZES = ((1440, 900), (390, 844))
#: The demo's troubled model: critical recall breach, open serious incident, drift.
MODEL = "failed-delivery-predictor"
DEFAULT_PASSWORD = "mlgov-demo-2026"
DEMO_ORGANISATION = "Example Logistics plc"
DEFAULT_PORT = 18510
PAGE_SECONDS = 30
SERVER_SECONDS = 120

#: The reports rendered to images: (file name, kind, model or None).
REPORTS = (
    ("card", "model_card", MODEL),
    ("lineage", "lineage", MODEL),
    ("register", "register", None),
    ("audit-extract", "audit_extract", MODEL),
)


@dataclass
class Shot:
    role: str
    page: str
    width: int
    path: str = ""
    url: str = ""
    note: str = ""


@dataclass
class Run:
    rev: str
    commit: str
    out: Path
    shots: list[Shot] = field(default_factory=list)
    pdfs: list[tuple[str, int, list[str], str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def chromium():
    """``tests/browser/chromium.py``: the browser tests' Chromium flags and sign-in (it
    imports no Django, so it loads outside a test run)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.browser import chromium as module

    return module


def say(text: str) -> None:
    print(f"[capture {dt.datetime.now():%H:%M:%S}] {text}", flush=True)


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


# --- the revision, its environment and its server --------------------------------------------


def worktree_for(commit: str, rev: str, base: Path) -> Path:
    """A worktree of ``commit`` under ``base`` (an existing one at that commit is reused)."""
    path = base / f"src-{rev}"
    if path.exists():
        if git("rev-parse", "HEAD", cwd=path) == commit:
            return path
        git("worktree", "remove", "--force", str(path))
    git("worktree", "add", "--detach", str(path), commit)
    return path


def python_for(source: Path, base: Path) -> Path:
    """The interpreter that runs the revision: the shared .venv when the revision's runtime
    lock is the current checkout's, else one made from the revision's lock (kept under
    ``base`` by the lock's hash, so a second run reuses it)."""
    lock = (source / "requirements" / "base.lock").read_bytes()
    shared = REPO / ".venv" / "bin" / "python"
    if lock == (REPO / "requirements" / "base.lock").read_bytes() and shared.exists():
        return shared
    venv = base / f"venv-{hashlib.sha256(lock).hexdigest()[:12]}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        say(f"the revision's lock differs: installing it into {venv}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r",
             str(source / "requirements" / "base.lock")],
            check=True,
        )  # fmt: skip
        (venv / ".installed").touch()
    return python


def app_environment(state: Path) -> dict[str, str]:
    """The revision's environment: embedded (SQLite in ``state``, tasks in process), none of
    the caller's database, broker or key settings, and an organisation name for the model
    card's cover (``MLGOV_ORGANISATION_NAME``). DJANGO_DEBUG serves static files from the
    source folders (the same files, unhashed) instead of compressing every asset per
    revision; it changes nothing a page shows (only error pages, which are not captured)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "DJANGO_DEBUG": "true",
            "MLGOV_VAR_DIR": str(state),
            "DJANGO_STATIC_ROOT": str(state / "static"),
            "DJANGO_MEDIA_ROOT": str(state / "media"),
            # The demo's organisation, so the model card's cover shows where the setting
            # prints (a revision without the setting ignores it).
            "MLGOV_ORGANISATION_NAME": DEMO_ORGANISATION,
        }
    )
    return env


def manage(python: Path, source: Path, env: dict, *args: str, timeout: int = 1800) -> str:
    result = subprocess.run(
        [str(python), "manage.py", *args],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_for(url: str, server: subprocess.Popen, seconds: int) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}); see its log")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our server
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise SystemExit(f"{url} did not answer within {seconds} s")


# --- the pages --------------------------------------------------------------------------------


def first_link(page, url: str, pattern: str) -> str | None:
    """The first link on ``url`` whose path matches ``pattern`` (a page's own listing is how
    a role finds its incident or its approval request)."""
    response = page.goto(url, wait_until="load")
    if response is None or response.status >= 400:
        return None
    hrefs = page.eval_on_selector_all(
        "a[href]", "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).pathname)"
    )
    return next((h for h in hrefs if re.fullmatch(pattern, h)), None)


def model_for(page, base: str) -> str | None:
    """The troubled model when the role sees it, else the first model of its inventory."""
    response = page.goto(f"{base}/inventory/models/{MODEL}/", wait_until="load")
    if response is not None and response.status == 200:
        return MODEL
    path = first_link(page, f"{base}/inventory/models/", r"/inventory/models/(?!new/)[a-z0-9-]+/")
    return path.strip("/").split("/")[-1] if path else None


def pages_for(page, base: str) -> list[tuple[str, str | None, str | None]]:
    """(name, path, selector of the part to capture or None for the whole page)."""
    slug = model_for(page, base)
    incident = first_link(page, f"{base}/incidents/", r"/incidents/[A-Z]+-[A-Za-z0-9-]+/")
    # The first request waiting for the role, else its own, else the model's latest.
    request = None
    for listing in ("/approvals/", "/approvals/mine/", f"/approvals/models/{slug}/"):
        request = request or first_link(page, base + listing, r"/approvals/requests/\d+/")
    model = f"/inventory/models/{slug}/" if slug else None
    return [
        ("dashboard", "/", None),
        ("inventory", "/inventory/models/", None),
        ("overview", model, None),
        ("monitoring", f"/monitoring/models/{slug}/" if slug else None, None),
        ("incidents-tab", f"/incidents/models/{slug}/" if slug else None, None),
        ("history", f"{model}history/" if slug else None, None),
        ("approvals-inbox", "/approvals/", None),
        ("decision-form", request, None),
        ("audit-log", "/audit/", None),
        ("notifications", "/notifications/", None),
        ("lifecycle-form", model, 'form[action$="/transition/"]'),
        ("rollback-form", incident, None),
        ("new-model-form", "/inventory/models/new/", None),
        ("html-card", f"/reports/models/{slug}/card/" if slug else None, None),
    ]


def capture_role(browser, base: str, role: str, password: str, run: Run) -> None:
    context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    page = context.new_page()
    page.set_default_timeout(PAGE_SECONDS * 1000)
    chromium().sign_in(page, base, role, password)
    folder = run.out / role
    folder.mkdir(parents=True, exist_ok=True)
    for name, path, part in pages_for(page, base):
        for width, height in SIZES:
            shot = Shot(role=role, page=name, width=width, url=path or "")
            run.shots.append(shot)
            if path is None:
                shot.note = "nothing of this kind for this role"
                continue
            page.set_viewport_size({"width": width, "height": height})
            response = page.goto(base + path, wait_until="load")
            status = response.status if response is not None else 0
            if status >= 400:
                shot.note = f"HTTP {status}"
                continue
            try:
                page.wait_for_load_state("networkidle", timeout=10_000)
            except Exception:  # a page that keeps polling is captured as it is
                shot.note = "still loading after 10 s"
            target = folder / f"{name}-{width}.png"
            if part is None:
                page.screenshot(path=str(target), full_page=True)
            else:
                element = page.locator(part).first
                if element.count() == 0:
                    shot.note = "no such form on the page for this role"
                    continue
                # The form with its heading: the card that holds it.
                holder = element.locator("xpath=ancestor::*[contains(@class,'card')][1]")
                (holder if holder.count() else element).screenshot(path=str(target))
            shot.path = str(target.relative_to(run.out))
    context.close()


# --- the PDFs -------------------------------------------------------------------------------


def render_reports(python: Path, source: Path, env: dict, run: Run, scale: float) -> None:
    import pypdfium2

    folder = run.out / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    for name, kind, model in REPORTS:
        target = folder / f"{name}.pdf"
        args = ["generate_report", "--kind", kind, "--format", "pdf", "--output", str(target)]
        if model:
            args += ["--model", model]
        started = time.monotonic()
        try:
            manage(python, source, env, *args, timeout=900)
        except SystemExit as exc:
            run.pdfs.append((name, 0, [], str(exc).splitlines()[0]))
            continue
        run.timings[f"pdf {name}"] = time.monotonic() - started
        document = pypdfium2.PdfDocument(str(target))
        images = []
        for index in range(len(document)):
            image = document[index].render(scale=scale).to_pil()
            path = folder / f"{name}-p{index + 1:02d}.png"
            image.save(path)
            images.append(str(path.relative_to(run.out)))
        run.pdfs.append((name, len(document), images, ""))
        document.close()


# --- the index ------------------------------------------------------------------------------


def write_index(run: Run) -> Path:
    taken = [s for s in run.shots if s.path]
    lines = [
        f"# mlgov screenshots: {run.rev}",
        "",
        f"Commit `{run.commit}`, captured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by "
        "`docs/screenshots/capture.py` from the demo data (`seed_demo`).",
        "",
        f"{len(taken)} page screenshots ({len(run.shots) - len(taken)} not taken, with why), "
        f"{sum(n for _, n, _, _ in run.pdfs)} PDF pages.",
        "",
        "## Pages",
        "",
        "| Role | Page | Width | File | Path | Note |",
        "|---|---|---|---|---|---|",
    ]
    for s in run.shots:
        file = f"[{s.path}]({s.path})" if s.path else "—"
        lines.append(f"| {s.role} | {s.page} | {s.width} | {file} | `{s.url}` | {s.note} |")
    lines += ["", "## PDF reports (as administrator)", "", "| Report | Pages | Files | Note |"]
    lines.append("|---|---|---|---|")
    for name, pages, images, note in run.pdfs:
        files = ", ".join(f"[p{i + 1}]({p})" for i, p in enumerate(images)) or "—"
        lines.append(f"| {name} | {pages} | {files} | {note} |")
    lines += ["", "## Timings", ""]
    lines += [f"- {what}: {seconds:.1f} s" for what, seconds in run.timings.items()]
    index = run.out / "index.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="Revision to capture (default: HEAD).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="runserver's port.")
    parser.add_argument("--roles", nargs="*", default=list(ROLES), choices=ROLES)
    parser.add_argument("--no-pdf", action="store_true", help="Skip the PDF reports.")
    parser.add_argument("--pdf-scale", type=float, default=1.5, help="PDF pixels per point.")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="The demo password.")
    parser.add_argument("--keep-worktree", action="store_true")
    parser.add_argument(
        "--chromium", default=chromium().chromium_path(), help="The Chromium binary."
    )
    options = parser.parse_args(argv)

    commit = git("rev-parse", "--verify", f"{options.rev}^{{commit}}")
    rev = git("rev-parse", "--short=7", commit)
    base = REPO / "var" / "screenshots"
    out = base / rev
    if out.exists():
        shutil.rmtree(out)
    state = out / "state"
    state.mkdir(parents=True)
    run = Run(rev=rev, commit=commit, out=out)
    source = worktree_for(commit, rev, base)
    server = log = None
    try:
        python = python_for(source, base)
        env = app_environment(state)
        for step in (("migrate", "--noinput", "--verbosity", "0"), ("seed_demo", "-v", "0")):
            started = time.monotonic()
            say(f"{rev}: manage.py {step[0]}")
            manage(python, source, env, *step)
            run.timings[step[0]] = time.monotonic() - started
        base_url = f"http://127.0.0.1:{options.port}"
        log = (state / "server.log").open("w")
        server = subprocess.Popen(
            [str(python), "manage.py", "runserver", "--noreload", f"127.0.0.1:{options.port}"],
            cwd=source,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(f"{base_url}/accounts/login/", server, SERVER_SECONDS)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=options.chromium, args=chromium().CHROMIUM_ARGS
            )
            try:
                for role in options.roles:
                    started = time.monotonic()
                    say(f"{rev}: pages as {role}")
                    capture_role(browser, base_url, role, options.password, run)
                    run.timings[f"pages as {role}"] = time.monotonic() - started
            finally:
                browser.close()
        if not options.no_pdf:
            say(f"{rev}: PDF reports")
            render_reports(python, source, env, run, options.pdf_scale)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if log is not None:
            log.close()
        if not options.keep_worktree:
            git("worktree", "remove", "--force", str(source))
    index = write_index(run)
    shutil.rmtree(state, ignore_errors=True)
    taken = sum(1 for s in run.shots if s.path)
    pages = sum(n for _, n, _, _ in run.pdfs)
    say(f"{rev}: {taken} screenshots, {pages} PDF pages; index {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
