"""PDF rendering for every report: WeasyPrint, PDF/A-3b, attachments, and a URL fetcher that
serves nothing but mlgov's own static files.

Pure (no ORM). Templates render the HTML; ``render_pdf`` turns it into bytes.

Safety. Reports carry user-written text. Templates escape it, so it cannot become markup; the
fetcher is the second wall: whatever a document asks for (``<img>``, ``<link>``, CSS ``url()``,
SVG ``<image>``, ``<object>``, ``<link rel=attachment>``), only files of the app's static
folders, addressed under ``STATIC_URL`` on a private origin, are served. ``file:``, ``http(s):``
to anywhere else, ``ftp:``, ``data:`` and paths escaping the static folders are refused and
logged at warning level; WeasyPrint then leaves the resource out and goes on rendering.

Speed. WeasyPrint's fixed costs are paid once per process: one ``FontConfiguration``, the
shared print stylesheet (``static/reports/print.css``) and report stylesheets parsed once into
``CSS`` objects and reused (re-parsed only when the file changes), static files read once.
Templates therefore do not link ``print.css`` for PDF output: ``render_pdf`` applies it to every
document (as user-origin rules, so a report's own ``<style>`` still wins). The cyclic garbage
collector is paused while a document renders (a third of the time otherwise). Renders are
serialised by a lock, as the font configuration and the stylesheets are shared.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import mimetypes
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils._os import safe_join

logger = logging.getLogger(__name__)

# WeasyPrint reports each rendering step and fontTools each subset table at INFO: dozens of
# lines per PDF, which flood worker logs and cost time. Quiet them unless configured.
for _name in ("fontTools", "weasyprint.progress"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

#: Private origin the documents are rendered at. Root-relative URLs such as
#: ``/static/reports/logo.svg`` (what ``{% static %}`` produces) resolve against it; ``.invalid``
#: never resolves on a network, and the fetcher answers for it from disk.
STATIC_ORIGIN = "https://static.mlgov.invalid"
BASE_URL = f"{STATIC_ORIGIN}/"

#: The shared print stylesheet applied to every PDF report.
PRINT_CSS = "reports/print.css"
#: The record reports' stylesheet (lineage report, register, audit extract), after print.css.
RECORDS_CSS = "reports/records.css"
LANDSCAPE_CSS = "@page { size: A4 landscape; }"

PDFA_VARIANT = "pdf/a-3b"


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF (a PDF/A-3 associated file). ``relationship`` is the
    ``AFRelationship`` of ISO 32000-2 7.11.3: ``Data`` for the data a document is drawn from,
    ``Source`` for its source, ``Supplement``, ``Alternative`` or ``Unspecified``."""

    name: str
    data: bytes
    description: str
    mime: str = "application/octet-stream"
    relationship: str = "Data"


class RefusedURL(ValueError):
    """A document asked for something other than one of the app's static files."""


# --- the URL fetcher -----------------------------------------------------------------------


def _static_prefix() -> str:
    path = urlsplit(settings.STATIC_URL).path or "/static/"
    return "/" + path.strip("/") + "/"


def static_name(url: str) -> str | None:
    """The static file name (``reports/print.css``) that ``url`` addresses on the private
    origin, or ``None`` when ``url`` is anything else or tries to climb out."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != "https" or parts.netloc != urlsplit(STATIC_ORIGIN).netloc:
        return None
    path = unquote(parts.path)
    prefix = _static_prefix()
    if not path.startswith(prefix):
        return None
    name = path[len(prefix) :]
    if not name or "\\" in name or "\x00" in name:
        return None
    if any(segment in ("", ".", "..") for segment in name.split("/")):
        return None
    return name


def static_file(name: str) -> str | None:
    """The path on disk of static file ``name``: found by the staticfiles finders (the app's
    static folders), else in ``STATIC_ROOT`` (collected, possibly hashed names)."""
    found = finders.find(name)
    if isinstance(found, list):  # pragma: no cover - find(all=False) returns one path
        found = found[0] if found else None
    if found:
        return found
    root = getattr(settings, "STATIC_ROOT", None)
    if root:
        try:
            candidate = safe_join(str(root), name)
        except Exception:  # SuspiciousFileOperation: outside STATIC_ROOT
            return None
        if os.path.isfile(candidate):
            return candidate
    return None


_bytes_cache: dict[str, tuple[int, int, bytes]] = {}


def _read(path: str) -> bytes:
    """The bytes of a static file, cached while its size and modification time hold."""
    stat = os.stat(path)
    cached = _bytes_cache.get(path)
    if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2]
    with open(path, "rb") as handle:
        data = handle.read()
    _bytes_cache[path] = (stat.st_mtime_ns, stat.st_size, data)
    return data


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves the app's static files from disk and refuses every other URL.

        WeasyPrint turns the exception of a refused fetch into a logged error and renders
        on without the resource, so a refused image or stylesheet simply does not appear."""

        def fetch(self, url, headers=None):
            name = static_name(url)
            path = static_file(name) if name else None
            if path is None:
                shown = url if len(url) <= 200 else url[:200] + "…"
                logger.warning("PDF renderer refused to fetch %r: not a static file", shown)
                raise RefusedURL(f"Refused: {shown}")
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            logger.debug("PDF renderer served static file %s", name)
            return URLFetcherResponse(url, _read(path), {"Content-Type": mime})

    return StaticOnlyFetcher


# --- shared WeasyPrint state ---------------------------------------------------------------

_lock = threading.RLock()
_state: dict = {}
_css_cache: dict[str, tuple[int, object]] = {}


def _shared() -> dict:
    """The process-wide fetcher and font configuration (created on first use)."""
    if not _state:
        from weasyprint.text.fonts import FontConfiguration

        _state["fetcher"] = _fetcher_class()()
        _state["fonts"] = FontConfiguration()
    return _state


def fetcher():
    """The process-wide static-only URL fetcher."""
    return _shared()["fetcher"]


def _stylesheet(name: str):
    """The parsed ``CSS`` of static file ``name``, parsed again only when the file changes."""
    from weasyprint import CSS

    path = static_file(name)
    if path is None:
        raise FileNotFoundError(f"Static stylesheet not found: {name}")
    mtime = os.stat(path).st_mtime_ns
    cached = _css_cache.get(name)
    if cached and cached[0] == mtime:
        return cached[1]
    shared = _shared()
    css = CSS(
        string=_read(path).decode("utf-8"),
        base_url=f"{STATIC_ORIGIN}{_static_prefix()}{name}",
        url_fetcher=shared["fetcher"],
        font_config=shared["fonts"],
    )
    _css_cache[name] = (mtime, css)
    return css


def _landscape():
    from weasyprint import CSS

    if "landscape" not in _state:
        shared = _shared()
        _state["landscape"] = CSS(
            string=LANDSCAPE_CSS, url_fetcher=shared["fetcher"], font_config=shared["fonts"]
        )
    return _state["landscape"]


def stylesheet_text(name: str) -> str:
    """The text of static stylesheet ``name``, for inlining into standalone HTML."""
    path = static_file(name)
    if path is None:
        raise FileNotFoundError(f"Static stylesheet not found: {name}")
    return _read(path).decode("utf-8")


# --- rendering -----------------------------------------------------------------------------


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector for one render. WeasyPrint allocates hundreds of
    thousands of small objects per document, and the collections they trigger (each walking
    the whole heap) take about a third of the render. Memory is still freed by reference
    counting as the render goes; a render leaves no reference cycles behind (a collection
    right after one finds nothing), and collection resumes when it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _memory_source(data: bytes, mime: str):
    yield BytesIO(data), None, None, mime


def _attachment(item: PdfAttachment, created: datetime):
    from weasyprint import Attachment

    attachment = Attachment(
        string=item.data,
        url_fetcher=fetcher(),
        name=item.name,
        description=item.description,
        created=created,
        modified=created,
        relationship=item.relationship,
    )
    # WeasyPrint guesses the media type from the name; the caller's is authoritative.
    attachment.source = _memory_source(item.data, item.mime)
    return attachment


def render_pdf(
    html: str,
    *,
    attachments: Sequence[PdfAttachment] = (),
    pdfa: bool = True,
    landscape: bool = False,
    stylesheets: Sequence[str] = (),
) -> bytes:
    """The PDF of ``html``: A4 (or A4 landscape) with ``static/reports/print.css`` and the
    static ``stylesheets`` (names such as ``reports/card.css``) applied, PDF/A-3b unless
    ``pdfa`` is false, ``attachments`` embedded as associated files. Title and language come
    from the document's ``<title>`` and ``<html lang>``. Only static files are fetched."""
    from weasyprint import HTML

    with _lock, _gc_paused():
        shared = _shared()
        sheets = [_stylesheet(PRINT_CSS), *(_stylesheet(name) for name in stylesheets)]
        if landscape:
            sheets.append(_landscape())
        created = datetime.now(UTC).replace(tzinfo=None)
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=shared["fetcher"])
        options = {"stylesheets": sheets}
        if attachments:
            options["attachments"] = [_attachment(item, created) for item in attachments]
        if pdfa:
            options["pdf_variant"] = PDFA_VARIANT
        return document.write_pdf(font_config=shared["fonts"], **options)
