"""Response headers that limit what a page may do in the browser, and the policy of the
standalone HTML documents (the model card, HTML reports) that carry their own stylesheet.

Pure: no ORM, no request.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence

#: Browser features no mlgov page uses; denied for this origin and anything it embeds, so a
#: script that ever ran here could not turn on a camera, read a location or start a payment.
DENIED_FEATURES = (
    "accelerometer",
    "ambient-light-sensor",
    "autoplay",
    "bluetooth",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)

_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.DOTALL | re.IGNORECASE)


def style_hashes(html: str) -> list[str]:
    """CSP source expressions (``'sha256-…'``) of every ``<style>`` element's text in ``html``.

    The browser hashes the element's text exactly as served, so the hashes are taken from the
    rendered document, not from the stylesheet files it was built from.
    """
    hashes: list[str] = []
    for text in _STYLE_ELEMENT.findall(html):
        digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
        source = f"'sha256-{digest}'"
        if source not in hashes:
            hashes.append(source)
    return hashes


def document_policy(html: str, *, scripts: Sequence[str] = ()) -> dict[str, list[str]]:
    """The CSP directives of a standalone HTML document: nothing may load or run, except the
    document's own ``<style>`` elements (by hash), inline images and the script sources in
    ``scripts`` (``'self'``: the site's own files, never inline script).

    ``sandbox`` gives the document an opaque origin, so it cannot read this site's cookies or
    call its API even with a script. Without ``scripts`` it also forbids script even if markup
    got in; with them it allows scripts and the print dialog (``allow-modals``), nothing more.
    """
    policy = {
        "default-src": ["'none'"],
        "style-src": style_hashes(html) or ["'none'"],
        "img-src": ["data:"],
        "font-src": ["data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
        # Links open in new tabs outside the sandbox; a report's file may be downloaded.
        "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox", "allow-downloads"],
    }
    if scripts:
        policy["script-src"] = list(scripts)
        policy["sandbox"] += ["allow-scripts", "allow-modals"]
    return policy


def apply_document_policy(response, html: str, *, scripts: Sequence[str] = ()):
    """Serve ``html`` on ``response`` under ``document_policy`` instead of the site policy."""
    # django-csp builds the header from ``_csp_config`` when a view sets it (as its
    # ``csp_override`` decorator does); the policy depends on the content, so it is set here.
    response._csp_config = document_policy(html, scripts=scripts)
    return response
