"""User-entered URLs: which of them may become a link in a page or a report.

A URL that someone typed (a finding's evidence link, a dataset or artifact URI, a deployment
endpoint, a webhook address) is shown to other people, often with more rights than its author.
Rendered as ``<a href>``, a ``javascript:`` or ``data:`` URL runs script in their session
(or in a PDF reader or Markdown viewer). Only absolute ``http``/``https`` URLs with a host
become links; everything else is shown as the text that was typed. Pure: no ORM, no request.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

LINK_SCHEMES = frozenset({"http", "https"})

#: The ``rel`` of every link to a user-entered URL: no access to this window, no referrer
#: (the page's path may name a model or a finding), no search-engine credit.
LINK_REL = "noopener noreferrer nofollow"


def _has_control_or_space(value: str) -> bool:
    # Browsers drop tabs and newlines inside a URL ("java\tscript:" is "javascript:") and
    # trim control characters and spaces at the ends; refusing them all keeps what we check
    # identical to what the browser would follow.
    return any(ord(ch) <= 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in value)


def safe_link_url(value: object) -> str | None:
    """``value`` if it may be rendered as a link (absolute http/https with a host), else None.

    Surrounding whitespace is ignored, as it is when the text is shown. The result still
    has to be escaped by whatever renders it (``format_html`` does).
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > 2048 or _has_control_or_space(url):
        return None
    if "\\" in url:
        # Browsers read "https:\\evil" as "https://evil"; a URL someone meant has no backslash.
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return None
    if not url.lower().startswith(f"{parts.scheme.lower()}://"):
        return None
    return url


def link_error(value: str) -> str | None:
    """Why ``value`` cannot be stored as a link URL, or None if it can."""
    if safe_link_url(value) is None:
        return f"“{value.strip()[:200]}” is not a web address: give a full http:// or https:// URL."
    return None


def validate_link_lines(text: str) -> list[str]:
    """The URLs of a one-URL-per-line field; a ``ValidationError`` naming each bad line.

    Used at input (forms and the API) for evidence links; rendering does not rely on it,
    since rows stored before this check may hold anything.
    """
    urls: list[str] = []
    errors: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        problem = link_error(line)
        if problem:
            errors.append(f"Line {number}: {problem}")
        else:
            urls.append(line.strip())
    if errors:
        raise ValidationError(errors)
    return urls
