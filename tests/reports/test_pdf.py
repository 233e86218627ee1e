"""apps.reports.pdf: PDF/A-3b output, attachments, and the fetcher that serves nothing but
static files. The helpers at the top read PDFs back (text with poppler's pdftotext, streams
and embedded files in Python) and are shared with the card tests."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import zlib

import pytest

from apps.reports import pdf
from apps.reports.pdf import PdfAttachment, render_pdf

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)"
)

_STREAM = re.compile(rb"obj\s*(<<(?:(?!endobj).)*?>>)\s*stream\r?\n", re.S)


def pdf_streams(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every stream of a PDF as (dictionary, decoded bytes)."""
    streams = []
    for match in _STREAM.finditer(data):
        dictionary = match.group(1)
        length = re.search(rb"/Length (\d+)", dictionary)
        start = match.end()
        end = start + int(length.group(1)) if length else data.index(b"endstream", start)
        body = data[start:end]
        if b"/FlateDecode" in dictionary:
            body = zlib.decompress(body)
        streams.append((dictionary, body))
    return streams


def pdf_objects(data: bytes) -> bytes:
    """The PDF's bytes with every stream decoded appended: dictionaries packed into object
    streams (PDF 1.5+) become searchable."""
    return data + b"\n".join(body for _, body in pdf_streams(data))


def embedded_files(data: bytes) -> list[tuple[bytes, bytes]]:
    """(dictionary, contents) of each embedded file stream."""
    return [(d, body) for d, body in pdf_streams(data) if b"/Type /EmbeddedFile" in d]


def xmp_metadata(data: bytes) -> str:
    [body] = [body for d, body in pdf_streams(data) if b"/Type /Metadata" in d]
    return body.decode("utf-8")


def pdf_text(data: bytes, tmp_path, *, first: int | None = None, last: int | None = None) -> str:
    """The text of a PDF (or of pages first..last) as pdftotext reads it."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    args = ["pdftotext", "-enc", "UTF-8"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    result = subprocess.run([*args, str(path), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def pdf_pages(data: bytes, tmp_path) -> list[str]:
    """The text of each page (pdftotext separates pages with form feeds)."""
    return pdf_text(data, tmp_path).split("\f")[:-1]


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", data))


# --- a small document, rendered once -----------------------------------------------------

DOC = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Quarterly register &amp; notes</title></head>
<body><div class="running" data-title="Register" data-as-of="As of 2026-11-24"
data-footer="mlgov test"></div><h1>Plain report body</h1>
<p>Grüße, naïve café — 2026.</p>
<img src="/static/img/favicon.svg" alt="">
<table class="data"><thead><tr><th>Column A</th><th>Column B</th></tr></thead>
<tbody><tr><td>row one</td><td>value</td></tr></tbody></table></body></html>"""

PAYLOAD = b'{"report": "register", "rows": [1, 2, 3]}\n'


@pytest.fixture(scope="module")
def rendered():
    attachment = PdfAttachment(
        name="register.json", data=PAYLOAD, description="The rows", mime="application/json"
    )
    return render_pdf(DOC, attachments=[attachment])


@needs_poppler
def test_it_renders_a_pdf_whose_text_pdftotext_reads(rendered, tmp_path):
    assert rendered.startswith(b"%PDF-1.7")
    text = pdf_text(rendered, tmp_path)
    assert "Plain report body" in text
    assert "Grüße, naïve café — 2026." in text
    assert "Column A" in text and "row one" in text


@needs_poppler
def test_it_prints_the_running_header_and_page_x_of_y(rendered, tmp_path):
    text = pdf_text(rendered, tmp_path)
    assert "Register" in text
    assert "As of 2026-11-24" in text
    assert "mlgov test" in text
    assert "Page 1 of 1" in text


def test_it_declares_pdf_a_3b_in_the_xmp_metadata(rendered):
    xmp = xmp_metadata(rendered)
    assert re.search(r'pdfaid:part="3"|<pdfaid:part>3</pdfaid:part>', xmp)
    assert re.search(r'pdfaid:conformance="B"|<pdfaid:conformance>B</pdfaid:conformance>', xmp)
    assert "Quarterly register &amp; notes" in xmp  # dc:title from <title>
    objects = pdf_objects(rendered)
    assert b"/GTS_PDFA1" in objects  # the sRGB output intent PDF/A requires
    assert b"/Lang (en)" in objects


def test_it_embeds_attachments_as_associated_files_with_their_media_type(rendered):
    [(dictionary, body)] = embedded_files(rendered)
    assert body == PAYLOAD
    assert b"/Subtype /application#2fjson" in dictionary
    objects = pdf_objects(rendered)
    assert b"/AFRelationship /Data" in objects
    assert b"(register.json)" in objects
    assert re.search(rb"/AF ?\[", objects)


@needs_poppler
def test_pdfdetach_extracts_the_same_attachment_bytes(rendered, tmp_path):
    if shutil.which("pdfdetach") is None:
        pytest.skip("needs pdfdetach")
    path = tmp_path / "doc.pdf"
    path.write_bytes(rendered)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(out), str(path)], check=True)
    assert (out / "register.json").read_bytes() == PAYLOAD


def test_it_can_render_plain_pdf_without_the_pdf_a_declaration():
    data = render_pdf(DOC, pdfa=False)
    assert data.startswith(b"%PDF")
    assert b"pdfaid" not in pdf_objects(data)
    assert b"/GTS_PDFA1" not in pdf_objects(data)


def test_it_renders_landscape_a4_on_request():
    data = render_pdf(DOC, landscape=True, pdfa=False)
    box = re.search(rb"/MediaBox ?\[([\d.\s-]+)\]", pdf_objects(data)).group(1).split()
    width, height = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
    assert round(width) == 842 and round(height) == 595


def test_it_reuses_parsed_stylesheets_between_renders():
    first = pdf._stylesheet(pdf.PRINT_CSS)
    render_pdf(DOC, pdfa=False)
    assert pdf._stylesheet(pdf.PRINT_CSS) is first


# --- the fetcher ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://static.mlgov.invalid/static/reports/print.css", "reports/print.css"),
        ("https://static.mlgov.invalid/static/img/favicon.svg?v=1#x", "img/favicon.svg"),
        ("https://static.mlgov.invalid/static/img/fav%69con.svg", "img/favicon.svg"),
        ("https://static.mlgov.invalid/static/../etc/passwd", None),
        ("https://static.mlgov.invalid/static/%2e%2e/%2e%2e/etc/passwd", None),
        ("https://static.mlgov.invalid/static/img//favicon.svg", None),
        ("https://static.mlgov.invalid/static/img\\..\\..\\x", None),
        ("https://static.mlgov.invalid/etc/passwd", None),
        ("https://static.mlgov.invalid/static/", None),
        ("http://static.mlgov.invalid/static/reports/print.css", None),
        ("https://example.invalid/static/reports/print.css", None),
        ("https://static.mlgov.invalid.example.com/static/reports/print.css", None),
        ("file:///etc/passwd", None),
        ("file:///work/main/static/reports/print.css", None),
        ("ftp://example.invalid/x.css", None),
        ("data:text/css,body{}", None),
        ("/static/reports/print.css", None),
    ],
)
def test_it_maps_only_static_urls_on_the_private_origin_to_static_names(url, name):
    assert pdf.static_name(url) == name


def test_the_fetcher_serves_static_files_from_disk():
    response = pdf.fetcher()("https://static.mlgov.invalid/static/reports/print.css")
    assert response.content_type == "text/css"
    with open(pdf.static_file("reports/print.css"), "rb") as handle:
        assert response.read() == handle.read()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.invalid/x.css",
        "https://static.mlgov.invalid/static/reports/missing.css",
        "https://static.mlgov.invalid/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "data:image/svg+xml,<svg/>",
        "ftp://example.invalid/x",
    ],
)
def test_the_fetcher_refuses_anything_else_and_logs_a_warning(url, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.reports.pdf"), pytest.raises(pdf.RefusedURL):
        pdf.fetcher()(url)
    assert any(r.levelno == logging.WARNING and "refused" in r.getMessage() for r in caplog.records)


# --- hostile documents -----------------------------------------------------------------------

LEAK_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40">'
    '<text x="5" y="30" font-size="20">LEAKED{n}</text></svg>'
)


@pytest.fixture(scope="module")
def bait(tmp_path_factory):
    """Local files that would show a marker in the PDF if anything fetched them."""
    folder = tmp_path_factory.mktemp("bait")
    (folder / "image.svg").write_text(LEAK_SVG.format(n="-IMAGE"))
    (folder / "style.css").write_text('h1::after { content: "LEAKED-CSS"; }')
    (folder / "note.txt").write_text("LEAKED-TEXT root:x:0:0")
    return folder


def hostile_document(folder) -> str:
    data_svg = LEAK_SVG.format(n="-DATA").replace('"', "'")
    return f"""<!DOCTYPE html><html><head><title>Hostile</title>
<link rel="stylesheet" href="file://{folder}/style.css">
<link rel="stylesheet" href="http://example.invalid/x.css">
<link rel="attachment" href="file://{folder}/note.txt">
<style>body {{ background: url(file:///etc/passwd); }}
p.bg {{ background-image: url(file://{folder}/image.svg); height: 20mm; }}</style>
</head><body><h1>Visible heading</h1>
<img src="file://{folder}/image.svg" alt="">
<img src="file:///etc/passwd" alt="">
<img src="data:image/svg+xml,{data_svg}" alt="">
<img src="http://example.invalid/x.png" alt="">
<img src="/static/../../../../{folder}/image.svg" alt="">
<iframe src="file:///etc/passwd"></iframe>
<object data="file://{folder}/image.svg" type="image/svg+xml"></object>
<embed src="file://{folder}/image.svg" type="image/svg+xml">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="300"
 height="50"><image href="file://{folder}/image.svg" width="300" height="50"/>
<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>
<p class="bg">Last line</p></body></html>"""


@needs_poppler
def test_a_document_that_pulls_local_files_or_urls_gets_nothing(bait, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.reports.pdf"):
        data = render_pdf(hostile_document(bait))
    text = pdf_text(data, tmp_path)
    assert "Visible heading" in text and "Last line" in text
    assert "LEAKED" not in text
    assert "root:x:0:0" not in text
    assert embedded_files(data) == []
    refused = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for url in ("file:///etc/passwd", "http://example.invalid/x.css", f"file://{bait}/note.txt"):
        assert url in refused


@needs_poppler
def test_the_same_document_leaks_through_weasyprints_default_fetcher(bait, tmp_path):
    """The control: without mlgov's fetcher the bait is fetched, so the test above can fail."""
    import weasyprint

    data = weasyprint.HTML(string=hostile_document(bait)).write_pdf()
    text = pdf_text(data, tmp_path)
    assert "LEAKED-IMAGE" in text or "LEAKED-CSS" in text


def test_a_refused_fetch_does_not_stop_the_render(bait):
    data = render_pdf(hostile_document(bait), pdfa=False)
    assert data.startswith(b"%PDF")


def test_the_fetcher_is_asked_for_static_files_only_when_documents_link_them(monkeypatch):
    asked = []
    fetcher = pdf.fetcher()
    original = fetcher.fetch

    def spy(url, headers=None):
        asked.append(url)
        return original(url, headers)

    monkeypatch.setattr(fetcher, "fetch", spy)
    render_pdf(DOC, pdfa=False)
    assert asked == ["https://static.mlgov.invalid/static/img/favicon.svg"]
