"""Every page, as every role, in a real Chromium: no Content-Security-Policy violation, no
console error, no server error, no page wider than a phone's, a laptop's or a desktop's screen,
and no serious or critical accessibility violation (axe-core).

The demo data (``seed_demo``) plus a finding whose stored evidence link is ``javascript:``
and a generated report give every page type something to show. For each role the test signs
in through the login form and walks the site breadth-first from the dashboard along
same-origin links, plus an explicit list of the pages that matter most (every model tab,
approvals, incidents, reviews and findings, reports, the audit log, notifications, the admin,
the API docs). Links that change state or download files are not followed, and each kind of
page (URL name) is visited at most ``PER_NAME`` times, so the walk stays bounded.

Each page loaded is also resized to 390, 1440 and 1280 px (overflow of the document fails)
and checked by axe-core at 1280 px (``page_checks.py``): the same page loads serve every check,
so the layout and accessibility checks add only their own time to the walk. axe-core is the npm
package, installed into ``var/axe`` by the test when missing; without npm those checks are
skipped with a printed reason and the rest still runs.

Needs a Chromium binary (see test_journey.py); skipped, saying why, when none is found.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve, reverse

from tests.browser import page_checks
from tests.browser.test_journey import CHROMIUM_ARGS, chromium_path

# Playwright's sync API runs an event loop in this thread; the ORM calls made here between
# pages are plain synchronous calls and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ROLES = ("admin", "validator", "business_owner", "model_owner", "auditor", "viewer")
SCRIPT_LINK = "javascript:alert(document.cookie)"
#: At most this many URLs of one URL name (one kind of page) per role; query-string variants
#: (sorting, filters, pages) of a kind already seen are skipped first.
PER_NAME = 1
MAX_PAGES_PER_ROLE = 150
MAX_SECONDS_PER_ROLE = 600  # a guard against a hang, far above a normal walk with its checks

#: URL names whose GET changes state, signs out or downloads a file: never followed.
NOT_FOLLOWED = {
    "accounts:logout",
    "admin:logout",
    "notifications:mark_read",
    "notifications:mark_all_read",
    "accounts:token_revoke",
    "accounts:lockout_lift",
    "reports:report_download",
    "reports:report_manifest",
    "reports:report_signature",
    "inventory:model_export_csv",
    "api-schema",
}
NOT_FOLLOWED_PARTS = ("/delete/", "/logout", "/download", "export", "format=")

# The init script reports each violation to Python as it happens, across navigations. A
# violation without a source file comes from code the test itself evaluated in the page (axe-core
# adds a <style> element on some pages); the page's own markup and scripts always name one.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  if (!e.sourceFile) return;
  window.__mlgovCsp && window.__mlgovCsp({
    directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample,
    source: e.sourceFile, line: e.lineNumber,
  });
});
"""


@dataclass
class Findings:
    violations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    script_links: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)


def _url_name(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def _page_kind(name: str | None) -> str | None:
    """Pages of one kind share a template. The admin's add and history pages are one kind
    across all models, its change forms one kind per app; its lists are visited for every
    model (their filters differ)."""
    if name and name.startswith("admin:"):
        for suffix in ("_add", "_history"):
            if name.endswith(suffix):
                return f"admin:*{suffix}"
        if name.endswith("_change"):
            # One change form per app: the forms of one app share their widgets.
            return f"admin:{name.split(':', 1)[1].split('_', 1)[0]}_*_change"
    return name


def _followable(url: str, base: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != base:
        return False
    if any(part in url for part in NOT_FOLLOWED_PARTS) or parts.path.startswith("/static/"):
        return False
    name = _url_name(parts.path)
    return name is not None and name not in NOT_FOLLOWED


def _explicit_pages(role: str) -> list[str]:
    """The pages that matter most, whether or not a link leads there."""
    from apps.approvals.models import ApprovalRequest
    from apps.incidents.models import Incident
    from apps.inventory.models import Dataset, ModelVersion, RegisteredModel
    from apps.reports.models import Report
    from apps.reviews.models import Finding, Review

    model = RegisteredModel.objects.order_by("pk").first()
    version = ModelVersion.objects.filter(model=model).order_by("pk").first()
    pages = [
        reverse("dashboard:home"),
        reverse("inventory:model_list"),
        reverse("inventory:dataset_list"),
        model.get_absolute_url(),
        reverse("inventory:model_versions", args=[model.slug]),
        reverse("inventory:model_lineage", args=[model.slug]),
        reverse("inventory:model_risk", args=[model.slug]),
        reverse("inventory:model_history", args=[model.slug]),
        reverse("monitoring:model_monitoring", args=[model.slug]),
        reverse("monitoring:threshold_list", args=[model.slug]),
        reverse("approvals:model_approvals", args=[model.slug]),
        reverse("reviews:model_reviews", args=[model.slug]),
        reverse("reports:model_reports", args=[model.slug]),
        reverse("reports:model_card", args=[model.slug]),
        reverse("approvals:inbox"),
        reverse("approvals:my_requests"),
        reverse("approvals:policy"),
        reverse("incidents:incident_list"),
        reverse("reviews:review_list"),
        reverse("reviews:finding_list"),
        reverse("reports:report_list"),
        reverse("audit:event_list"),
        reverse("notifications:list"),
        reverse("accounts:password_change"),
        reverse("accounts:token_list"),
        "/api/docs/",
    ]
    if version is not None:
        pages.append(version.get_absolute_url())
    for queryset in (
        Dataset.objects.order_by("pk"),
        ApprovalRequest.objects.order_by("pk"),
        Incident.objects.order_by("pk"),
        Review.objects.order_by("pk"),
        Finding.objects.filter(evidence_links__contains=SCRIPT_LINK),
        Report.objects.order_by("pk"),
    ):
        first = queryset.first()
        if first is not None:
            pages.append(first.get_absolute_url())
    from apps.mlflow_sync.models import MlflowConnection, SyncRun

    pages += [reverse("mlflow_sync:connection_list"), reverse("mlflow_sync:discovered_list")]
    for first in (
        MlflowConnection.objects.order_by("pk").first(),
        SyncRun.objects.order_by("pk").first(),
    ):
        if first is not None:
            pages.append(first.get_absolute_url())
    waiting = RegisteredModel.objects.filter(discovered_at__isnull=False, claimed_at=None).first()
    if waiting is not None:
        pages.append(reverse("mlflow_sync:model_claim", args=[waiting.slug]))
    if role == "admin":
        pages += [
            "/admin/",
            reverse("accounts:lockout_list"),
            reverse("accounts:token_list_all"),
            reverse("openlineage:job_list"),
            reverse("openlineage:rule_list"),
        ]
        from apps.openlineage.models import LineageJob

        job = LineageJob.objects.order_by("pk").first()
        if job is not None:
            pages.append(reverse("openlineage:job_detail", args=[job.pk]))
    return pages


def _crawl(
    page, base: str, role: str, explicit: list[str], findings, console: list, checks=None
) -> None:
    """Breadth-first from the dashboard and the explicit list; ``console`` collects the
    page's console errors as (text, location url) while it is open; ``checks(page, label,
    response)`` runs on every page that opened, before its links are read."""
    queue: deque[tuple[str, str | None]] = deque([(f"{base}/", None)])
    queue.extend((url, None) for url in explicit)
    seen: set[str] = set()
    per_name: dict[str, int] = {}
    started = time.monotonic()
    while queue and len(seen) < MAX_PAGES_PER_ROLE:
        if time.monotonic() - started > MAX_SECONDS_PER_ROLE:
            findings.console_errors.append(f"{role}: crawl stopped at the time bound")
            break
        url, linked_from = queue.popleft()
        url = url.split("#", 1)[0]
        if url in seen or not _followable(url, base):
            continue
        name = _page_kind(_url_name(urlsplit(url).path))
        if per_name.get(name, 0) >= PER_NAME:
            continue
        per_name[name] = per_name.get(name, 0) + 1
        seen.add(url)
        findings.visited.append(f"{role} {url}")
        console.clear()
        try:
            response = page.goto(url, wait_until="load")
        except Exception as exc:  # a download or an aborted navigation
            findings.console_errors.append(f"{role} {url}: navigation failed: {exc}")
            continue
        status = response.status if response is not None else 0
        if status >= 400:
            # A page on the explicit list may be refused to this role (403/404); a link the
            # site itself showed to this role must open.
            if linked_from is not None or status not in (403, 404):
                findings.broken_links.append(f"{role} {url} (from {linked_from}): {status}")
            console[:] = [(t, loc) for t, loc in console if loc != url]
        findings.console_errors.extend(f"{role} {url}: {t} [{loc}]" for t, loc in console)
        if status >= 400:
            continue
        if checks is not None:
            checks(page, f"{role} {url.removeprefix(base)}", response)
        hrefs = page.eval_on_selector_all(
            "a[href]:not([download])",
            # SVG links (lineage, charts) have no string .href: resolve the attribute.
            "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)",
        )
        live = [h for h in hrefs if not h.lower().startswith(("http:", "https:", "mailto:"))]
        findings.script_links.extend(f"{role} {url}: {h}" for h in live)
        # Plain links first, query-string variants after: they are the same kinds of page.
        for href in sorted(hrefs, key=lambda h: "?" in h):
            if href.split("#", 1)[0] not in seen:
                queue.append((href, url))


@pytest.fixture
def serial_live_server(transactional_db):
    """A live server that answers one request at a time.

    The crawl leaves each page while its HTMX requests may still be in flight; on the
    in-memory SQLite test database every server thread shares one connection, and two
    requests writing their sessions at once collide. Answering in turn avoids that (and
    costs nothing here: one browser asks at a time). PostgreSQL runs need no such care, but
    the walk is the same on both.
    """
    from django.core.servers.basehttp import WSGIServer
    from pytest_django.live_server_helper import LiveServer

    class SerialWSGIServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

    server = LiveServer("localhost:0", start=False)
    server.thread.server_class = SerialWSGIServer
    server._live_server_modified_settings.enable()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server._live_server_modified_settings.disable()


def _mlflow_pages_data() -> None:
    """An MLflow connection with a sync that refused something, and a discovered model."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.inventory.models import BusinessUnit
    from apps.inventory.services import registered_model_discover
    from apps.mlflow_sync.models import MlflowConnection, SyncRun

    service_user = User.objects.create(username="svc.mlflow")
    service_user.groups.add(Group.objects.get(name="model_owner"))
    unit = BusinessUnit.objects.order_by("pk").first()
    connection = MlflowConnection.objects.create(
        name="Bank registry",
        tracking_url="https://mlflow.example.com",
        business_unit=unit,
        run_as=service_user,
        created_by=User.objects.get(username="admin"),
    )
    SyncRun.objects.create(
        connection=connection,
        trigger="schedule",
        status="done",
        seen=3,
        created=2,
        refused=1,
        refusals=[{"item": "credit-scorer v1", "reason": "approved and immutable"}],
        notes=["Finding 1: credit-scorer v1 changed"],
    )
    registered_model_discover(
        actor=service_user,
        slug="fraud-scorer-mlflow",
        name="fraud-scorer",
        source="MLflow (Bank registry)",
        business_unit=unit,
    )


@pytest.fixture
def crawl_data(settings, tmp_path):
    """The demo story, plus what it lacks: a stored script link and a generated report."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.core.roles import ALL_ROLES
    from apps.demo.passwords import demo_password
    from apps.reports import services as report_services
    from apps.reviews.models import Finding

    settings.MEDIA_ROOT = tmp_path / "media"
    # The role groups come from a data migration; an earlier transactional test (a worker
    # test on PostgreSQL) flushes them, and seed_demo's administrator would hold no role.
    for name in ALL_ROLES:
        Group.objects.get_or_create(name=name)
    started = time.monotonic()
    call_command("seed_demo", verbosity=0)
    seeded = time.monotonic() - started
    # Written past the form's check, as a row stored before it existed would be.
    finding = Finding.objects.order_by("pk").first()
    Finding.objects.filter(pk=finding.pk).update(
        evidence_links=f"https://ci.example.org/run/1\n{SCRIPT_LINK}"
    )
    auditor = User.objects.get(username="auditor")
    report = report_services.report_request(user=auditor, kind="register", fmt="csv", enqueue=False)
    report_services.report_generate(report_id=report.pk)
    _mlflow_pages_data()
    print(f"seed_demo took {seeded:.1f} s")
    return demo_password()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_violates_the_policy_for_any_role(serial_live_server, crawl_data):
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium binary found (set MLGOV_CHROMIUM); CSP crawl skipped")
    from playwright.sync_api import sync_playwright

    base = serial_live_server.url
    # Read before the browser starts: the test's queries share the server's connection.
    explicit = {role: [urljoin(base, p) for p in _explicit_pages(role)] for role in ROLES}
    from apps.reviews.models import Finding

    hostile = urljoin(
        base, Finding.objects.get(evidence_links__contains=SCRIPT_LINK).get_absolute_url()
    )
    findings = Findings()
    checked = page_checks.PageFindings()
    axe, axe_note = page_checks.axe_source()
    print(axe_note)
    shots = page_checks.screenshot_dir()

    standalone: list[tuple[str, str]] = []

    def checks(page, label: str, response) -> None:
        if not response.headers.get("content-type", "").startswith("text/html"):
            return  # a JSON or text answer shown by the browser's own viewer, not a page
        if page_checks.runs_no_script(response.headers.get("content-security-policy", "")):
            # A standalone document (the HTML model card) runs no script at all, so nothing
            # can be evaluated in it; it is checked after the walk in a context of its own.
            standalone.append((page.url, label))
            return
        page_checks.check_layout(page, label, checked, shots)
        if axe is not None:
            page_checks.check_axe(page, label, axe, checked)

    def check_standalone(browser, context) -> None:
        """The script-less documents, in a context that ignores their policy (the walk's
        own context keeps it, so its CSP check is unaffected), signed in as the same user."""
        if not standalone:
            return
        other = browser.new_context(
            storage_state=context.storage_state(),
            bypass_csp=True,
            viewport={"width": page_checks.BROWSE_WIDTH, "height": page_checks.HEIGHT},
        )
        page = other.new_page()
        for url, label in standalone:
            page.goto(url, wait_until="load")
            page_checks.check_layout(page, label, checked, shots)
            if axe is not None:
                page_checks.check_axe(page, label, axe, checked)
        other.close()
        standalone.clear()

    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for role in ROLES:
                context = browser.new_context(
                    viewport={"width": page_checks.BROWSE_WIDTH, "height": page_checks.HEIGHT}
                )
                page = context.new_page()
                page.set_default_timeout(15_000)
                context.expose_binding(
                    "__mlgovCsp",
                    lambda source, v, role=role: findings.violations.append(
                        f"{role} {source['page'].url}: {v}"
                    ),
                )
                context.add_init_script(REPORT_VIOLATIONS)
                console: list[tuple[str, str]] = []
                page.on(
                    "console",
                    lambda m, console=console: (
                        m.type == "error" and console.append((m.text, m.location.get("url", "")))
                    ),
                )
                page.on(
                    "response",
                    lambda r, role=role: (
                        r.status >= 500
                        and findings.server_errors.append(f"{role} {r.url}: {r.status}")
                    ),
                )
                page.goto(f"{base}/accounts/login/")
                page.get_by_label("Username").fill(role)
                page.get_by_label("Password").fill(crawl_data)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{base}/")
                _crawl(page, base, role, explicit[role], findings, console, checks)
                check_standalone(browser, context)
                context.close()
        finally:
            browser.close()
    elapsed = time.monotonic() - started
    kinds = {v.split(" ", 2)[1].split("?")[0] for v in findings.visited}
    per_role = {r: sum(v.startswith(f"{r} ") for v in findings.visited) for r in ROLES}
    print(
        f"crawled {len(findings.visited)} pages ({len(kinds)} distinct paths) as "
        f"{len(ROLES)} roles in {elapsed:.1f} s; {len(findings.violations)} CSP violations, "
        f"{len(findings.console_errors)} console errors, {len(findings.server_errors)} 5xx; "
        f"pages per role {per_role}"
    )
    print(
        f"layout: {len(checked.overflow)} overflowing page widths "
        f"({checked.seconds_layout:.1f} s); axe: {checked.axe_pages} pages, "
        f"{len(checked.axe)} serious/critical and {len(checked.axe_minor)} moderate/minor "
        f"violations ({checked.seconds_axe:.1f} s)"
    )
    problems = (
        findings.violations
        + findings.console_errors
        + findings.server_errors
        + findings.broken_links
        + findings.script_links
        + checked.overflow
        + checked.axe
    )
    if os.environ.get("MLGOV_CRAWL_LIST"):
        problems += checked.axe_minor
    for line in problems:
        print(line)
    if os.environ.get("MLGOV_CRAWL_LIST"):
        print(*findings.visited, sep="\n")

    assert findings.violations == []
    assert findings.console_errors == []
    assert findings.server_errors == []
    assert findings.broken_links == []
    assert findings.script_links == []  # no live javascript:/data: link on any page
    assert checked.overflow == []  # no page wider than the screen at 390, 1280 or 1440 px
    assert checked.axe == []  # no serious or critical accessibility violation
    # The walk reached the pages it is meant to cover, for every role.
    for role in ROLES:
        assert sum(v.startswith(f"{role} ") for v in findings.visited) >= 20, role
    assert any("/admin/" in v for v in findings.visited if v.startswith("admin "))
    # The finding with the stored script link was read by those it targets.
    for role in ("admin", "validator", "auditor"):
        assert f"{role} {hostile}" in findings.visited, role
