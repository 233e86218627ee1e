"""The lineage report as one HTML document (printable in the browser) and as PDF/A-3b with the
JSON export attached.

Pure: works on the document of ``apps.reports.lineage.lineage_document`` and the generation
metadata; no database read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string

from apps.reports.formats.lineage_svg import GraphIndex, model_link, model_svg
from apps.reports.formats.openlineage import lineage_json_bytes
from apps.reports.pdf import (
    PRINT_CSS,
    RECORDS_CSS,
    PdfAttachment,
    render_pdf,
    stylesheet_text,
)

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$")


def when(value: str | None) -> dict | None:
    """A UTC ISO time of the document (``2026-04-01T06:30:15Z``) split for people: the date
    and the time, each printed whole. A value in another shape is shown as it is."""
    if not value:
        return None
    match = _ISO.match(value)
    if match is None:
        return {"date": value, "time": ""}
    return {"date": match[1], "time": match[2]}


def _version_key(label: str) -> tuple:
    """Versions in numeric order (2.13.0 after 2.9.0), text parts compared as text."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", label))


def _sections(doc: Mapping[str, Any], *, links: bool) -> list[dict]:
    """One section per model in scope: its diagram and the tables behind it."""
    index = GraphIndex(doc)
    sections = []
    for slug in doc["models"]:
        center = f"model:{slug}"
        versions = index.versions(center)
        inputs = []
        deployments = []
        for version in versions:
            for e in index.into.get(version["id"], []):
                if e["kind"] in ("trained_on", "evaluated_on"):
                    inputs.append(
                        {"role": e["kind"], "dataset": index.by_id[e["source"]], "version": version}
                    )
            deployments += [
                index.by_id[e["target"]]
                for e in index.out.get(version["id"], [])
                if e["kind"] == "deployed_as"
            ]
        links_of = [e for e in index.edges_of(center) if model_link(e)]
        sections.append(
            {
                "model": index.by_id[center],
                "svg": model_svg(doc, slug, links=links, index=index),
                "versions": [
                    {**v, "registered": when(v["details"]["created_at"])}
                    for v in sorted(
                        versions,
                        key=lambda v: (v["details"]["created_at"] or "", _version_key(v["label"])),
                        reverse=True,
                    )
                ],
                "inputs": sorted(
                    inputs, key=lambda i: (i["version"]["label"], i["dataset"]["label"])
                ),
                "deployments": [
                    {**d, "deployed": when(d["details"]["deployed_at"])}
                    for d in sorted(deployments, key=lambda d: d["id"])
                ],
                "upstream": [index.by_id[e["source"]] for e in links_of if e["target"] == center],
                "downstream": [index.by_id[e["target"]] for e in links_of if e["source"] == center],
            }
        )
    return sections


def lineage_html(doc: Mapping[str, Any], meta: Mapping[str, Any], *, for_pdf: bool) -> str:
    """The lineage report as one HTML document (printable in the browser; the PDF's source).

    User text is escaped by the template; the SVG is rendered by the app's own template."""
    context = {
        "doc": doc,
        "meta": meta,
        "for_pdf": for_pdf,
        "sections": _sections(doc, links=not for_pdf),
        "model_links": sum(1 for e in doc["edges"] if model_link(e)),
        "print_css": (
            "" if for_pdf else stylesheet_text(PRINT_CSS) + "\n" + stylesheet_text(RECORDS_CSS)
        ),
        "title": (
            f"Lineage report: {doc['scope']['name']}"
            if doc["scope"]["model"]
            else "Lineage report: model inventory"
        ),
    }
    return render_to_string("reports/lineage/report.html", context)


def lineage_pdf(doc: Mapping[str, Any], meta: Mapping[str, Any]) -> bytes:
    """PDF/A-3b of the lineage report, with the JSON export attached as ``lineage.json``."""
    attachment = PdfAttachment(
        name="lineage.json",
        data=lineage_json_bytes(doc, meta),
        description="Lineage graph and OpenLineage run events (JSON export)",
        mime="application/json",
    )
    return render_pdf(
        lineage_html(doc, meta, for_pdf=True),
        attachments=[attachment],
        stylesheets=(RECORDS_CSS,),
    )
