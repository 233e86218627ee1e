"""User-entered URLs in report outputs: a web address may be a link, nothing else ever is."""

from __future__ import annotations

import re

import pytest

from apps.reports import cards, lineage
from apps.reports.formats.lineage_report import lineage_html
from apps.reports.formats.markdown import to_markdown
from tests.factories import DatasetFactory, DeploymentFactory, ModelVersionFactory
from tests.reports import sample
from tests.reports.test_format_markdown import _html

SCRIPT = "javascript:alert(document.domain)"


def _hostile_snapshot() -> dict:
    snapshot = sample.sample_snapshot()
    production = snapshot["production_version"]
    production["artifact_uri"] = SCRIPT
    production["datasets"][0]["uri"] = "data:text/html,<script>alert(1)</script>"
    snapshot["deployments"][0]["endpoint"] = "JAVASCRIPT:alert(2)"
    return snapshot


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


@pytest.mark.parametrize("for_pdf", [False, True])
def test_the_model_card_never_links_a_script_url(for_pdf):
    html = cards.card_html(_hostile_snapshot(), sample.sample_meta(), for_pdf=for_pdf)

    # The card's own links: in-page anchors, web addresses, and (on screen) mlgov's pages.
    def safe(href: str) -> bool:
        return href.startswith(("#", "https://", "http://")) or (
            not for_pdf and href.startswith("/") and not href.startswith("//")
        )

    assert all(safe(h) for h in _hrefs(html)), _hrefs(html)
    assert "javascript:alert(document.domain)" in html  # still shown, as text


def test_the_model_card_links_a_web_endpoint_with_a_safe_rel():
    html = cards.card_html(sample.sample_snapshot(), sample.sample_meta(), for_pdf=False)

    assert (
        '<a href="https://models.example.internal/failed-delivery/v2" '
        'rel="noopener noreferrer nofollow">'
    ) in html


def test_the_markdown_card_shows_uris_as_inert_code():
    rendered = _html(to_markdown(_hostile_snapshot(), sample.sample_meta()))

    assert "javascript:alert" in rendered and "JAVASCRIPT:alert(2)" in rendered
    assert not [h for h in _hrefs(rendered) if not h.startswith(("#", "https://"))]


@pytest.mark.django_db
def test_the_lineage_report_never_links_a_script_url(auditor, owned_model):
    version = ModelVersionFactory(model=owned_model, version="1.0.0", artifact_uri=SCRIPT)
    data = DatasetFactory(slug="scripted", uri="vbscript:msgbox(1)")
    version.dataset_links.create(dataset=data, role="trained_on")
    DeploymentFactory(version=version, environment="production", endpoint="https://api.example/s")
    doc = lineage.lineage_document(user=auditor, model=owned_model)

    html = lineage_html(doc, sample.sample_meta(), for_pdf=False)

    hrefs = [h for h in _hrefs(html) if not h.startswith("#")]
    assert all(h.startswith(("https://", "http://", "/")) for h in hrefs), hrefs
    assert SCRIPT in html and "vbscript:msgbox(1)" in html
    assert '<a href="https://api.example/s" rel="noopener noreferrer nofollow">' in html
