"""Model card PDF end to end against WeasyPrint's raw render of the same final HTML.

Usage::

    .venv/bin/python benchmarks/card_benchmark.py                  # 9 repetitions
    .venv/bin/python benchmarks/card_benchmark.py --repeat 5 --model retail-credit-scoring
    .venv/bin/python benchmarks/card_benchmark.py --cards 100      # also 100 cards in a row

Runs against PostgreSQL when ``DATABASE_URL`` is set (in a throw-away ``test_<name>``
database created and dropped by Django's test machinery, never the database itself), else
against an in-memory SQLite database. Migrates it and seeds the demo data (what
``manage.py seed_demo`` writes: models with versions, datasets, signed thresholds, 90 days of
metrics, drift runs, approvals, incidents, reviews and the audit trail), then times, in the
same run and alternating so both see the same machine:

- **card**: what a report job does for a model card PDF: ``model_snapshot`` (the database
  reads), the generation metadata, and ``card_pdf`` (HTML from the templates, PDF/A-3b with
  ``model-card.json`` attached, via ``apps.reports.pdf.render_pdf``);
- **raw**: ``weasyprint.HTML(string=final_html).write_pdf()`` where ``final_html`` is the
  card's HTML with its stylesheets inlined, i.e. the same pages drawn by a bare WeasyPrint
  call (checked: same page count).

Prints the medians, the ratio card / raw and the card median against their floors, and a
breakdown of the card's steps. Exits 1 when a floor is missed.

``--cards N`` also renders N cards one after another in this process (as a worker would)
and prints the time per card and the peak resident memory; ``render_cards`` is importable
for a measurement through a real Celery worker.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlgov.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark")
if not os.environ.get("MLGOV_SIGNING_KEY_FILE"):
    # A throwaway signing key (required with DATABASE_URL): benchmark reports are never filed.
    from apps.core.signing import generate_private_key_pem

    os.environ.setdefault("MLGOV_SIGNING_KEY", generate_private_key_pem())

#: Floors: the card at most this many times the raw render, and its median in seconds.
RATIO_FLOOR = 1.2
SECONDS_FLOOR = 1.0
DEFAULT_MODEL = "failed-delivery-predictor"


def _seed() -> float:
    from django.core.management import call_command

    t0 = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    return time.perf_counter() - t0


def card_meta(snapshot: dict) -> dict:
    """Generation metadata as the report job writes it (see the reports contract)."""
    from datetime import UTC, datetime

    from apps.reports.choices import GENERATOR
    from apps.reports.snapshot import snapshot_sha256

    return {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "generated_by": {"username": "system", "name": "system"},
        "generator": GENERATOR,
        "snapshot_sha256": snapshot_sha256(snapshot),
        "audit_chain_head": snapshot["audit_chain_head"],
        "as_of": snapshot["as_of"],
        "report_id": None,
    }


def card_end_to_end(model) -> tuple[bytes, dict]:
    """One model card PDF from the database: snapshot, metadata, HTML, PDF/A-3b."""
    from apps.reports.cards import card_pdf
    from apps.reports.snapshot import model_snapshot

    snapshot = model_snapshot(model=model)
    meta = card_meta(snapshot)
    return card_pdf(snapshot, meta), snapshot


def final_html(snapshot: dict, meta: dict) -> str:
    """The card's HTML with the stylesheets ``render_pdf`` applies inlined: what a bare
    WeasyPrint call needs to draw the same pages."""
    from apps.reports.cards import CARD_CSS, card_html
    from apps.reports.pdf import PRINT_CSS, stylesheet_text

    html = card_html(snapshot, meta, for_pdf=True)
    styles = f"<style>{stylesheet_text(PRINT_CSS)}\n{stylesheet_text(CARD_CSS)}</style>"
    return html.replace("</head>", f"{styles}</head>", 1)


def render_cards(*, model, count: int) -> dict:
    """Render ``count`` cards of ``model`` one after another in this process, as a worker
    does: seconds in all and per card, and the peak resident set size (MiB) before and
    after (``ru_maxrss`` is the process's high-water mark)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    for _ in range(count):
        card_end_to_end(model)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "count": count,
        "seconds": seconds,
        "per_card": seconds / max(count, 1),
        "peak_rss_before_mib": before,
        "peak_rss_after_mib": after,
    }


def _pages(data: bytes) -> int:
    """Pages of a PDF: ``/Type /Page`` dictionaries, also those packed in object streams."""
    import re
    import zlib

    found = len(re.findall(rb"/Type ?/Page\b", data))
    for match in re.finditer(rb"/FlateDecode[^>]*>>\s*stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            found += len(re.findall(rb"/Type ?/Page\b", zlib.decompress(data[match.end() : end])))
        except zlib.error:
            continue
    return found


def _breakdown(model, repeat: int) -> dict[str, float]:
    """Median seconds of the card's steps (each timed on its own)."""
    from apps.reports import cards
    from apps.reports.formats.jsonexport import card_json_bytes
    from apps.reports.pdf import render_pdf
    from apps.reports.snapshot import model_snapshot

    steps: dict[str, list[float]] = {"snapshot": [], "html": [], "json": [], "pdf": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        snapshot = model_snapshot(model=model)
        meta = card_meta(snapshot)
        t1 = time.perf_counter()
        html = cards.card_html(snapshot, meta, for_pdf=True)
        t2 = time.perf_counter()
        attachment = cards.card_attachment(snapshot, meta)
        card_json_bytes(snapshot, meta)
        t3 = time.perf_counter()
        render_pdf(html, attachments=[attachment], stylesheets=(cards.CARD_CSS,))
        t4 = time.perf_counter()
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, (t3 - t2) / 2, t4 - t3), strict=True):
            steps[name].append(seconds)
    return {name: statistics.median(values) for name, values in steps.items()}


def run(*, slug: str, repeat: int, cards_count: int) -> int:
    import django

    django.setup()
    import weasyprint
    from django.db import connection

    from apps.inventory.models import RegisteredModel

    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        seeded = _seed()
        model = RegisteredModel.objects.get(slug=slug)
        print(f"database: {connection.vendor}; demo data seeded in {seeded:.1f} s; model {slug}")

        # Warm up: imports, fonts, parsed stylesheets, template loading; then alternate.
        pdf_bytes, snapshot = card_end_to_end(model)
        html = final_html(snapshot, card_meta(snapshot))
        raw_bytes = weasyprint.HTML(string=html).write_pdf()
        card_times, raw_times = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            pdf_bytes, snapshot = card_end_to_end(model)
            card_times.append(time.perf_counter() - t0)
            html = final_html(snapshot, card_meta(snapshot))
            t0 = time.perf_counter()
            raw_bytes = weasyprint.HTML(string=html).write_pdf()
            raw_times.append(time.perf_counter() - t0)

        card, raw = statistics.median(card_times), statistics.median(raw_times)
        ratio = card / raw
        pages, raw_pages = _pages(pdf_bytes), _pages(raw_bytes)
        print(
            f"card: {pages} pages, {len(pdf_bytes) / 1024:.0f} KiB (PDF/A-3b, JSON attached); "
            f"raw: {raw_pages} pages, {len(raw_bytes) / 1024:.0f} KiB; "
            f"{len(snapshot['metrics'])} metrics, {len(snapshot['versions'])} versions, "
            f"{len(snapshot['approvals'])} approvals, {len(snapshot['changes'])} changes"
        )
        print(f"  {'card end to end (median)':34} {card * 1000:8.1f} ms")
        print(f"  {'raw WeasyPrint render (median)':34} {raw * 1000:8.1f} ms")
        print(f"  card runs: {', '.join(f'{t * 1000:.0f}' for t in card_times)} ms")
        print(f"  raw runs:  {', '.join(f'{t * 1000:.0f}' for t in raw_times)} ms")
        print("card steps (medians, timed separately):")
        for name, seconds in _breakdown(model, max(3, repeat // 2)).items():
            print(f"  {name:34} {seconds * 1000:8.1f} ms")
        if cards_count:
            many = render_cards(model=model, count=cards_count)
            print(
                f"{many['count']} cards in one process: {many['seconds']:.1f} s, "
                f"{many['per_card'] * 1000:.0f} ms per card; peak RSS "
                f"{many['peak_rss_before_mib']:.0f} MiB before, "
                f"{many['peak_rss_after_mib']:.0f} MiB after"
            )
        ok = ratio <= RATIO_FLOOR and card <= SECONDS_FLOOR and pages == raw_pages
        print(
            f"figure: ratio {ratio:.2f} (floor {RATIO_FLOOR}), card median {card:.3f} s "
            f"(floor {SECONDS_FLOOR:.1f} s), {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.2f}: {'OK' if ok else 'MISSED'}"
        )
        return 0 if ok else 1
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="slug of a demo model")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--cards", type=int, default=0, help="also render this many cards in a row")
    args = parser.parse_args()
    return run(slug=args.model, repeat=args.repeat, cards_count=args.cards)


if __name__ == "__main__":
    sys.exit(main())
