"""Checks run on a page the browser crawl has loaded: the layout at the widths people use, and
axe-core's accessibility rules.

Both run on the crawl's own page loads (``test_csp_crawl.py``): the viewport is resized on the
loaded page, so one navigation serves the Content-Security-Policy check, the three widths and
axe, and the suite pays for each page once.

- **Overflow:** at a phone (390 px), a laptop (1280 px) and a desktop (1440 px) the document
  must not be wider than the viewport (``document.documentElement.scrollWidth`` against its
  ``clientWidth``); a table or chart too wide for a phone scrolls inside its card instead.
  A failure names the widest elements that stick out, so it says what to fix.
- **axe-core:** the npm package, installed by the test into ``var/axe`` when missing (never
  committed), is evaluated in the page through the DevTools protocol: that is not a script
  element, so the page's strict CSP (``script-src 'self'``) neither blocks it nor needs to be
  relaxed for it. Serious and critical violations fail the crawl.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: The widths checked, in the order they are applied to each loaded page; the last one is the
#: width the crawl browses at (and axe runs at), so the next page loads at it.
WIDTHS = (390, 1440, 1280)
BROWSE_WIDTH = WIDTHS[-1]
HEIGHT = 900
#: From this width up the header is one row: brand, navigation and account menu side by side.
ONE_ROW_FROM = 1280
#: A one-row header is this tall at most (two rows of links would be about twice as tall).
ONE_ROW_HEIGHT = 72

AXE_DIR = Path(__file__).resolve().parents[2] / "var" / "axe"
AXE_FILE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = "axe-core@4"
#: Impacts that fail the crawl; "moderate" and "minor" are printed, not failed.
FAILING_IMPACTS = ("serious", "critical")
#: Pages axe does not judge, with why. Their layout is still checked.
AXE_EXCLUDED = {
    # Swagger UI (drf-spectacular's vendored bundle) draws the API documentation: its
    # operation headers nest buttons and its grey-on-white labels are its own; mlgov cannot
    # restyle them without forking the bundle. The page's own markup is checked.
    "/api/docs/": "third-party Swagger UI markup",
}
#: A page axe cannot check in this time fails (a page that large is a finding of its own).
AXE_SECONDS = 30

# How far the document sticks out, and the outermost elements that stick out (so a failure
# says "table.data in .card" rather than only a number). Elements inside a scrolling box are
# not counted: they scroll where they are, the document does not.
OVERFLOW_PROBE = """
() => {
  const root = document.documentElement;
  const limit = root.clientWidth;
  const header = document.querySelector(".site-header");
  const out = {
    scrollWidth: root.scrollWidth, clientWidth: limit, offenders: [],
    header: header ? Math.round(header.getBoundingClientRect().height) : 0,
  };
  if (root.scrollWidth <= limit) return out;
  const scrolls = (el) => {
    const x = getComputedStyle(el).overflowX;
    return x === "auto" || x === "scroll" || x === "hidden" || x === "clip";
  };
  const describe = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += "#" + el.id;
    if (el.classList.length) text += "." + Array.from(el.classList).slice(0, 2).join(".");
    return text;
  };
  const walk = (el) => {
    for (const child of el.children) {
      const box = child.getBoundingClientRect();
      if (box.right > limit + 1 && box.width > 0) {
        const parent = child.parentElement;
        out.offenders.push(
          `${describe(parent)} > ${describe(child)} (right edge ${Math.round(box.right)} px)`
        );
        if (out.offenders.length >= 4) return;
      }
      if (!scrolls(child)) walk(child);
      if (out.offenders.length >= 4) return;
    }
  };
  walk(document.body);
  return out;
}
"""

AXE_RUN = """
async (seconds) => {
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), seconds * 1000));
  const result = await Promise.race([
    axe.run(document, { resultTypes: ["violations"] }), timeout,
  ]);
  if (result === null) {
    return [{ id: "axe-timeout", impact: "serious", help: `axe did not finish in ${seconds} s`,
              targets: [], count: 0 }];
  }
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    count: v.nodes.length,
  }));
}
"""


@dataclass
class PageFindings:
    """What the checks found, one line per problem, ready to print."""

    overflow: list[str] = field(default_factory=list)
    axe: list[str] = field(default_factory=list)
    axe_minor: list[str] = field(default_factory=list)
    axe_pages: int = 0
    seconds_layout: float = 0.0
    seconds_axe: float = 0.0


def axe_source() -> tuple[str | None, str]:
    """The text of ``axe.min.js``, installing the npm package into ``var/axe`` first when it
    is missing; ``(None, why)`` when it cannot be had (no npm, no network)."""
    if not AXE_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            return None, "npm not found: axe-core accessibility checks skipped"
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run(
            [npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", AXE_PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if completed.returncode != 0 or not AXE_FILE.exists():
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:]
            return None, f"npm install {AXE_PACKAGE} failed ({' '.join(tail)}): axe skipped"
    version = json.loads((AXE_FILE.parent / "package.json").read_text())["version"]
    return AXE_FILE.read_text(encoding="utf-8"), f"axe-core {version}"


def runs_no_script(policy: str) -> bool:
    """A document whose policy sandboxes it without ``allow-scripts`` (the standalone model
    card): nothing can be evaluated in it, axe included, under that policy."""
    directives = {d.strip().split(" ", 1)[0]: d for d in policy.split(";") if d.strip()}
    sandbox = directives.get("sandbox")
    return sandbox is not None and "allow-scripts" not in sandbox


def check_layout(page, label: str, findings: PageFindings, shots: Path | None = None) -> None:
    """Resize the loaded page to each of ``WIDTHS`` and record any horizontal overflow of the
    document; leaves the page at ``BROWSE_WIDTH``. With ``shots``, saves a screenshot at the
    phone and desktop widths there."""
    import time

    started = time.monotonic()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        probe = page.evaluate(OVERFLOW_PROBE)
        if probe["scrollWidth"] > probe["clientWidth"]:
            findings.overflow.append(
                f"{label} at {width} px: document {probe['scrollWidth']} px wide in a "
                f"{probe['clientWidth']} px viewport; {'; '.join(probe['offenders'])}"
            )
        if width >= ONE_ROW_FROM and probe["header"] > ONE_ROW_HEIGHT:
            findings.overflow.append(
                f"{label} at {width} px: the header wraps ({probe['header']} px tall)"
            )
        if shots is not None and width in (390, 1440):
            name = "".join(c if c.isalnum() else "_" for c in label)[:120]
            page.screenshot(path=str(shots / f"{name}_{width}.png"), full_page=True)
    findings.seconds_layout += time.monotonic() - started


def check_axe(page, label: str, source: str, findings: PageFindings) -> None:
    """Run axe-core on the loaded page and record its violations by impact."""
    import time

    path = label.split(" ", 1)[-1].split("?", 1)[0]
    if path in AXE_EXCLUDED:
        return
    started = time.monotonic()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    violations = page.evaluate(AXE_RUN, AXE_SECONDS)
    findings.axe_pages += 1
    for v in violations:
        line = (
            f"{label}: [{v['impact']}] {v['id']} ({v['count']}x): {v['help']}: "
            f"{' | '.join(v['targets'])}"
        )
        (findings.axe if v["impact"] in FAILING_IMPACTS else findings.axe_minor).append(line)
    findings.seconds_axe += time.monotonic() - started


def screenshot_dir() -> Path | None:
    """``MLGOV_CRAWL_SCREENSHOTS=<dir>`` saves each crawled page at 390 and 1440 px there."""
    target = os.environ.get("MLGOV_CRAWL_SCREENSHOTS")
    if not target:
        return None
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return path
