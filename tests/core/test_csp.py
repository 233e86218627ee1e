"""Content-Security-Policy: a strict policy on every response, templates it can hold to, and
the standalone HTML model card under its own sandboxed policy (its stylesheets by hash, mlgov's
script files only)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from apps.core.security import document_policy, style_hashes

BASE_DIR = Path(__file__).resolve().parents[2]
TEMPLATES = BASE_DIR / "templates"
# Standalone report documents (PDF/HTML files) carry their own stylesheet in <style>; the HTML
# card is served with its hashes (document_policy). Nothing else may hold inline style or script.
STANDALONE = ("reports/card/", "reports/lineage/", "reports/register/", "reports/audit_extract/")

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/api/v1/models/", "/nowhere/"])
def test_every_response_carries_the_strict_policy(client, path):
    policy = _policy(client.get(path))

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    header = " ".join(v for values in policy.values() for v in values)
    assert "unsafe-inline" not in header and "unsafe-eval" not in header


def test_framing_is_refused_twice(client):
    # X-Frame-Options for old browsers, frame-ancestors for current ones.
    response = client.get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert _policy(response)["frame-ancestors"] == ["'none'"]


def _page_templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if not name.startswith(STANDALONE):
            yield name, path.read_text()


def test_no_page_template_has_inline_style_or_script():
    offenders = []
    for name, text in _page_templates():
        if re.search(r"\sstyle\s*=", text):
            offenders.append(f"{name}: style attribute")
        if re.search(r"<style\b", text, re.I):
            offenders.append(f"{name}: <style> element")
        for tag in re.findall(r"<script\b[^>]*>", text, re.I):
            if "src=" not in tag:
                offenders.append(f"{name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{name}: inline event handler")
        if "javascript:" in text.lower():
            offenders.append(f"{name}: javascript: URL")
    assert offenders == []


def test_svg_helpers_emit_no_style_attribute():
    from apps.core.templatetags import mlgov_svg

    source = Path(mlgov_svg.__file__).read_text()
    assert "style=" not in source


def test_htmx_is_told_not_to_inject_its_indicator_stylesheet():
    base = (TEMPLATES / "base.html").read_text()

    assert '"includeIndicatorStyles": false' in base


def test_style_hashes_are_those_of_each_style_element_as_served():
    html = "<style>a{color:red}</style><p>x</p><style media='print'>\nb{}\n</style>"

    assert style_hashes(html) == [
        "'sha256-6hWWMOcF+mJesSJGYhmK2lkIIEw9Xc5XKGLPVzh8yxs='",
        "'sha256-lkYe5SAjgQT1av6fhWoNE7zxmqmfMlAULMnahGbZ8os='",
    ]
    assert document_policy("<p>no style</p>")["style-src"] == ["'none'"]


def test_the_browser_model_card_allows_its_own_stylesheets_and_script_files_only(
    client, auditor, owned_model
):
    client.force_login(auditor)

    response = client.get(reverse("reports:model_card", args=[owned_model.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    policy = _policy(response)
    assert policy["default-src"] == ["'none'"]
    # The Print button's file: mlgov's own script files, never inline script or eval.
    assert policy["script-src"] == ["'self'"]
    assert [t for t in re.findall(r"<script\b[^>]*>", html) if "src=" not in t] == []
    # Sandboxed: scripts and the print dialog, but an opaque origin (no cookies, no API).
    assert {"allow-scripts", "allow-modals"} <= set(policy["sandbox"])
    assert "allow-same-origin" not in policy["sandbox"]
    assert "allow-top-navigation" not in policy["sandbox"]
    assert policy["form-action"] == ["'none'"]
    assert "connect-src" not in policy  # so default-src 'none' applies
    assert policy["style-src"] == style_hashes(html)
    assert len(policy["style-src"]) == html.count("<style")
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_a_document_without_scripts_may_run_none():
    policy = document_policy("<p>a report</p>")

    assert "script-src" not in policy and policy["default-src"] == ["'none'"]
    assert "allow-scripts" not in policy["sandbox"] and "allow-modals" not in policy["sandbox"]


def test_the_api_docs_run_without_inline_script_or_style(client, auditor):
    client.force_login(auditor)

    page = client.get("/api/docs/")
    script = client.get("/api/docs/", {"script": ""})

    assert page.status_code == 200
    html = page.content.decode()
    inline = [t for t in re.findall(r"<script\b[^>]*>", html) if "src=" not in t]
    assert inline == []
    assert "<style" not in html and " style=" not in html
    assert '<html lang="en">' in html  # screen readers know the page's language
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
    assert _policy(page)["script-src"] == ["'self'"]


def test_favicon_ico_leads_to_the_app_icon(client):
    # Browsers ask for it on pages that name no icon; a 404 is a console error on each.
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"].endswith("img/favicon.svg")
