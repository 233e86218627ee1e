"""A layout checker for mlgov's PDF reports: reads the rendered pages as positioned text and
ruled boxes (pdfplumber) and lists what a reader would see as broken.

Pure: functions take the PDF's bytes and return ``Problem`` records (page, text, why); no
Django, no database. What it finds:

- **text outside the page**, or running into the left/right page margin (a cell or label
  wider than the room it was given);
- **overlapping text**: two runs of glyphs printed over each other (a name overprinting the
  next column, a label drawn over a neighbour);
- **text across a box edge**: a glyph cut by the vertical edge of a drawn box (a table
  cell's rule, a diagram node's border), i.e. text escaping its cell or node;
- **pages with only a heading** (or nothing at all between the running header and footer),
  and headings left at the foot of a page with their content on the next (alone, or with
  no more than a small-print note under them);
- **table pages without the table's header row**: rows of a table (recognised by their
  cells starting at the header's column positions) above any repetition of its header on
  that page, a header row with nothing under it, and a header never printed at all.

Tables are named by their header labels (``("Seq.", "Time (UTC)", "Actor", …)``); each
label's first word must appear on one line, left to right, for the header to be found.

Margins default to those of ``static/reports/print.css`` (20 / 15 / 18 / 15 mm); text in the
top and bottom margins is the running header and footer and is left out of the page-content
checks.

Use::

    problems = check_pdf(pdf_bytes, tables=[("Version", "Stage", "Artifact SHA-256")])
    assert not problems, describe(problems)
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MM = 72 / 25.4

#: How far (pt) text may stray before it counts: anti-aliasing and glyph side bearings.
TOLERANCE = 0.75
#: Two glyphs overlap when they share this share of the narrower one's width and of the
#: shorter one's height (kerned neighbours touch; overprinted text shares most of a glyph).
OVERLAP_WIDTH = 0.3
OVERLAP_HEIGHT = 0.5
#: A bold line this much larger than the document's body text is a heading (h3 is 10 or
#: 10.5 pt over 9 or 9.5 pt body text).
HEADING_RATIO = 1.08
#: Cells of a table row start within this distance (pt) of their header's column starts.
COLUMN_TOLERANCE = 1.5


@dataclass(frozen=True)
class Margins:
    """Page margins in points: text above ``top`` or below ``bottom`` is the running header
    and footer; text left of ``left`` or right of ``right`` strays into the margin."""

    top: float = 20 * MM
    right: float = 15 * MM
    bottom: float = 18 * MM
    left: float = 15 * MM


PRINT_MARGINS = Margins()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the layout: the page (1-based; 0 for the whole document), the
    text concerned and why it is a problem."""

    page: int
    text: str
    why: str

    def __str__(self) -> str:
        where = f"page {self.page}" if self.page else "document"
        return f"{where}: {self.why}: {self.text!r}"


@dataclass(frozen=True)
class Char:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    font: str = ""

    @property
    def bold(self) -> bool:
        return "Bold" in self.font

    @property
    def mono(self) -> bool:
        return "Mono" in self.font

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class Edge:
    """A vertical edge of a drawn box (a rule, a cell border, a node's outline)."""

    x: float
    top: float
    bottom: float


@dataclass
class Word:
    chars: list[Char] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)

    @property
    def x0(self) -> float:
        return min(c.x0 for c in self.chars)

    @property
    def x1(self) -> float:
        return max(c.x1 for c in self.chars)

    @property
    def top(self) -> float:
        return min(c.top for c in self.chars)

    @property
    def bottom(self) -> float:
        return max(c.bottom for c in self.chars)

    @property
    def size(self) -> float:
        return max(c.size for c in self.chars)


@dataclass
class Page:
    """A page as the checks see it: its size, its glyphs in drawing order and the vertical
    edges of the boxes drawn on it."""

    number: int
    width: float
    height: float
    chars: list[Char]
    edges: list[Edge]

    def words(self) -> list[Word]:
        """Glyphs grouped into words in drawing order: a word ends at a space, a jump
        backwards or a gap. Text printed over other text stays a word of its own, as it is
        drawn in a run of its own."""
        words: list[Word] = []
        current = Word()
        for char in self.chars:
            if not char.text.strip():
                if current.chars:
                    words.append(current)
                current = Word()
                continue
            if current.chars:
                prev = current.chars[-1]
                if char.x0 < prev.x0 or char.x0 > prev.x1 + 1.5 or abs(char.top - prev.top) > 1.5:
                    words.append(current)
                    current = Word()
            current.chars.append(char)
        if current.chars:
            words.append(current)
        return words


# --- reading -------------------------------------------------------------------------------


def _path_edges(obj, page_height: float) -> list[Edge]:
    """The vertical edges a drawn path shows: a thin vertical rule, or both sides of a
    rectangle (square or rounded, as SVG ``<rect rx>`` is drawn). Connector curves and
    other shapes have no edges to cross."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = obj.get_bounds()
    top, bottom = page_height - top, page_height - bottom
    if bottom - top < 3:
        return []  # a horizontal rule or an underline
    if right - left <= 1.5:
        return [Edge((left + right) / 2, top, bottom)]
    if right - left < 4:
        return []
    count = pdfium_c.FPDFPath_CountSegments(obj.raw)
    points = []
    curves = 0
    for index in range(count):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj.raw, index)
        x, y = ctypes.c_float(), ctypes.c_float()
        pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
        points.append((x.value, y.value))
        curves += pdfium_c.FPDFPathSegment_GetType(segment) == pdfium_c.FPDF_SEGMENT_BEZIERTO
    # A rectangle is at least four lines; a rounded one adds four arcs. A connector (a
    # move and one curve) or a triangle is not a box.
    if count < 5 or (curves and count < 12):
        return []
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    slack = max(0.5, 0.15 * min(x1 - x0, y1 - y0))
    if not all(min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) <= slack for x, y in points):
        return []
    return [Edge(left, top, bottom), Edge(right, top, bottom)]


def read_pages(data: bytes) -> list[Page]:
    """The pages of a PDF as positioned glyphs and box edges, in points from the page's top
    left corner. Read with PDFium (``pypdfium2``, which pdfplumber installs and renders
    with): pdfminer's pure-Python parser takes about a second a page."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pages = []
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    document = pdfium.PdfDocument(data)
    try:
        for number, page in enumerate(document, start=1):
            width, height = page.get_size()
            text = page.get_textpage()
            chars = []
            for index in range(text.count_chars()):
                if pdfium_c.FPDFText_IsGenerated(text.raw, index):
                    continue  # a space or line break PDFium inferred, not printed
                left, bottom, right, top = text.get_charbox(index, loose=True)
                pdfium_c.FPDFText_GetFontInfo(text.raw, index, name, len(name), flags)
                glyph = chr(pdfium_c.FPDFText_GetUnicode(text.raw, index))
                if pdfium_c.FPDFText_IsHyphen(text.raw, index):
                    glyph = "-"  # a hyphen ending a line, which PDFium reports as U+0002
                chars.append(
                    Char(
                        text=glyph,
                        x0=left,
                        x1=right,
                        top=height - top,
                        bottom=height - bottom,
                        # The glyph box's height: the font size in points whatever the
                        # text matrix scales it by.
                        size=round(top - bottom, 1),
                        font=name.value.decode("ascii", "replace"),
                    )
                )
            edges = [
                edge
                for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH])
                for edge in _path_edges(obj, height)
            ]
            pages.append(Page(number, width, height, chars, edges))
    finally:
        document.close()
    return pages


# --- the checks ----------------------------------------------------------------------------


def _joined(chars: Sequence[Char]) -> str:
    """The text of glyphs on one line, left to right, with a space wherever a gap shows one
    (the PDF draws words without space glyphs)."""
    text = ""
    prev = None
    for c in sorted(chars, key=lambda c: c.x0):
        if prev is not None and c.x0 - prev.x1 > 0.2 * max(c.size, 1) and not text.endswith(" "):
            text += " "
        text += c.text
        prev = c
    return " ".join(text.split())


def _snippet(chars: Sequence[Char], limit: int = 60) -> str:
    text = _joined(chars)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line_of(page: Page, char: Char) -> str:
    """The text printed on the same line as ``char`` around it, for messages."""
    same = sorted(
        (c for c in page.chars if abs(c.top - char.top) <= 1 and abs(c.x0 - char.x0) < 120),
        key=lambda c: c.x0,
    )
    return _snippet(same)


def text_outside_page(pages: Iterable[Page], margins: Margins = PRINT_MARGINS) -> list[Problem]:
    """Glyphs beyond the page's edges, or in its left or right margin."""
    problems = []
    for page in pages:
        outside: list[Char] = []
        in_margin: list[Char] = []
        for c in page.chars:
            if not c.text.strip():
                continue
            if (
                c.x0 < -TOLERANCE
                or c.top < -TOLERANCE
                or c.x1 > page.width + TOLERANCE
                or c.bottom > page.height + TOLERANCE
            ):
                outside.append(c)
            elif c.x0 < margins.left - TOLERANCE or c.x1 > page.width - margins.right + TOLERANCE:
                in_margin.append(c)
        for chars, why in (
            (outside, "text outside the page"),
            (in_margin, "text runs into the page margin"),
        ):
            for line in _group_lines(chars):
                problems.append(Problem(page.number, _line_of(page, line[0]), why))
    return problems


def _group_lines(chars: Sequence[Char]) -> list[list[Char]]:
    """Glyphs grouped into lines by their baseline (the bottom of their box), top to bottom,
    each line left to right."""
    lines: list[list[Char]] = []
    for c in sorted(chars, key=lambda c: c.bottom):
        if lines and c.bottom - lines[-1][0].bottom <= 2:
            lines[-1].append(c)
        else:
            lines.append([c])
    return [sorted(line, key=lambda c: c.x0) for line in lines]


def _chars_overlap(a: Char, b: Char) -> bool:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    return (
        width > OVERLAP_WIDTH * min(a.width, b.width)
        and height > OVERLAP_HEIGHT * min(a.height, b.height)
        and width > 0.2
    )


def overlapping_text(pages: Iterable[Page]) -> list[Problem]:
    """Words printed over other words (checked glyph by glyph, so words that merely touch
    pass)."""
    problems = []
    cell = 24.0
    for page in pages:
        words = page.words()
        grid: dict[tuple[int, int], list[int]] = defaultdict(list)
        for index, word in enumerate(words):
            for gx in range(int(word.x0 // cell), int(word.x1 // cell) + 1):
                for gy in range(int(word.top // cell), int(word.bottom // cell) + 1):
                    grid[gx, gy].append(index)
        seen: set[tuple[int, int]] = set()
        for members in grid.values():
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    pair = (a, b)
                    if pair in seen:
                        continue
                    seen.add(pair)
                    first, second = words[a], words[b]
                    if (
                        first.x1 <= second.x0
                        or second.x1 <= first.x0
                        or first.bottom <= second.top
                        or second.bottom <= first.top
                    ):
                        continue
                    if any(_chars_overlap(p, q) for p in first.chars for q in second.chars):
                        problems.append(
                            Problem(
                                page.number,
                                f"{first.text} / {second.text}",
                                "text printed over other text",
                            )
                        )
    return problems


def text_across_edges(pages: Iterable[Page]) -> list[Problem]:
    """Glyphs cut by the vertical edge of a drawn box: text escaping its cell or node."""
    problems = []
    for page in pages:
        if not page.edges:
            continue
        edges = sorted(page.edges, key=lambda e: e.x)
        xs = [e.x for e in edges]
        cut: list[Char] = []
        for c in page.chars:
            if not c.text.strip() or c.width < 1:
                continue
            start = bisect.bisect_right(xs, c.x0 + 0.25 * c.width)
            end = bisect.bisect_left(xs, c.x1 - 0.25 * c.width)
            for edge in edges[start:end]:
                covered = min(edge.bottom, c.bottom) - max(edge.top, c.top)
                if covered >= 0.6 * c.height:
                    cut.append(c)
                    break
        for line in _group_lines(cut):
            problems.append(
                Problem(page.number, _line_of(page, line[0]), "text runs across a box edge")
            )
    return problems


def _body_lines(page: Page, margins: Margins) -> list[list[Char]]:
    """The page's lines of text between the running header and footer, top to bottom."""
    body = [
        c
        for c in page.chars
        if c.text.strip()
        and c.top >= margins.top - 2
        and c.bottom <= page.height - margins.bottom + 2
    ]
    return _group_lines(body)


def body_size(pages: Sequence[Page]) -> float:
    """The size of the document's body text: the commonest size of its regular glyphs
    (neither bold nor monospaced: hashes and headings are not body text)."""
    sizes = Counter(
        c.size for page in pages for c in page.chars if c.text.strip() and not c.bold and not c.mono
    )
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _is_heading(line: Sequence[Char], size: float) -> bool:
    """A line in bold type larger than body text (a bold table header or a larger symbol
    in a line of body text is not a heading)."""
    bold = sum(1 for c in line if c.bold)
    usual = Counter(c.size for c in line).most_common(1)[0][0]
    return bold >= 0.8 * len(line) and usual >= HEADING_RATIO * size


def text_lines(data: bytes, margins: Margins = PRINT_MARGINS) -> list[list[str]]:
    """The text of each page's body, line by line (words separated by spaces), without the
    running header and footer: what a reader sees on each line."""
    return [[_joined(line) for line in _body_lines(page, margins)] for page in read_pages(data)]


def heading_only_pages(pages: Sequence[Page], margins: Margins = PRINT_MARGINS) -> list[Problem]:
    """Pages with nothing but headings (or nothing at all) between the running header and
    footer, and pages that end on a heading whose content starts on the next page."""
    problems = []
    size = body_size(pages)
    for page in pages:
        lines = _body_lines(page, margins)
        if not lines:
            problems.append(Problem(page.number, "", "blank page"))
            continue
        headings = [_is_heading(line, size) for line in lines]
        if all(headings):
            problems.append(Problem(page.number, _snippet(lines[0]), "page holds only a heading"))
        elif page.number < len(pages) and (
            headings[-1]
            or _heading_with_a_note_at_the_foot(lines, headings, pages[page.number], margins)
        ):
            last = max(i for i, is_heading in enumerate(headings) if is_heading)
            problems.append(
                Problem(page.number, _snippet(lines[last]), "heading at the foot of the page")
            )
    return problems


#: A heading at the foot of a page with no more than this many lines under it (a section's
#: "Newest first…" note) has left its content to the next page when that page opens on one of
#: the section's own subheadings.
FOOT_NOTE_LINES = 2


def _usual_size(line: Sequence[Char]) -> float:
    return Counter(c.size for c in line).most_common(1)[0][0]


def _heading_with_a_note_at_the_foot(
    lines: Sequence[Sequence[Char]], headings: Sequence[bool], following: Page, margins: Margins
) -> bool:
    """The page ends on a heading and a line or two of introduction, and the next page opens
    on a smaller heading: the section's first entry went over, its heading stayed behind."""
    if not any(headings):
        return False
    last = max(i for i, is_heading in enumerate(headings) if is_heading)
    if not 0 < len(lines) - last - 1 <= FOOT_NOTE_LINES:
        return False
    ahead = _body_lines(following, margins)
    if not ahead:
        return False
    size = _usual_size(lines[last])
    first = ahead[0]
    bold = sum(1 for c in first if c.bold) >= 0.8 * len(first)
    return bold and _usual_size(first) < size


# --- tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    top: float
    bottom: float
    columns: tuple[float, ...]


def _lines_of_words(words: Sequence[Word]) -> list[list[Word]]:
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        if lines and abs(lines[-1][0].top - word.top) <= 2:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def _find_header(line: Sequence[Word], labels: Sequence[str]) -> tuple[float, ...] | None:
    """The x position of each label's first word if all appear on ``line`` in order."""
    columns = []
    position = 0
    for label in labels:
        first = label.split()[0]
        for index in range(position, len(line)):
            if line[index].text == first:
                columns.append(line[index].x0)
                position = index + 1
                break
        else:
            return None
    return tuple(columns)


def _starts(line: Sequence[Word], columns: Sequence[float]) -> int:
    """How many of the header's columns have a word of ``line`` starting at them."""
    return len(
        {
            index
            for word in line
            for index, x in enumerate(columns)
            if abs(word.x0 - x) <= COLUMN_TOLERANCE
        }
    )


def _is_row(line: Sequence[Word], columns: Sequence[float]) -> bool:
    """A line of a table row: words start at most of the header's columns (three at least,
    or all of them), as they do on a row's first line and often on its next ones."""
    return _starts(line, columns) >= min(max(3, math.ceil(0.6 * len(columns))), len(columns))


def tables_without_header(
    pages: Sequence[Page],
    tables: Sequence[Sequence[str]],
    margins: Margins = PRINT_MARGINS,
) -> list[Problem]:
    """Table pages whose rows are not under the table's header row, header rows with
    nothing under them at the foot of a page, and headers never printed."""
    problems = []
    page_lines = []
    for page in pages:
        body = [
            w
            for w in page.words()
            if w.top >= margins.top - 2 and w.bottom <= page.height - margins.bottom + 2
        ]
        page_lines.append(_lines_of_words(body))
    for labels in tables:
        name = " | ".join(labels)
        headers: dict[int, list[_Header]] = defaultdict(list)
        for page, lines in zip(pages, page_lines, strict=True):
            for line in lines:
                columns = _find_header(line, labels)
                if columns is not None:
                    headers[page.number].append(
                        _Header(line[0].top, max(w.bottom for w in line), columns)
                    )
        if not headers:
            problems.append(Problem(0, name, "table header never printed"))
            continue
        layouts = {h.columns for found in headers.values() for h in found}
        # A table's rows come after its header is first printed: lines before it that
        # happen to start at the same places belong to something else.
        first_page = min(headers)
        first_top = min(h.top for h in headers[first_page])
        for page, lines in zip(pages, page_lines, strict=True):
            if page.number < first_page:
                continue
            found = headers.get(page.number, [])
            for header in found:
                below = [line for line in lines if line[0].top > header.bottom + 0.5]
                if not below:
                    problems.append(
                        Problem(page.number, name, "table header at the foot of the page")
                    )
            for line in lines:
                if page.number == first_page and line[0].top <= first_top:
                    continue
                if not any(_is_row(line, columns) for columns in layouts):
                    continue
                if _find_header(line, labels) is not None:
                    continue
                if not any(h.top < line[0].top and _is_row(line, h.columns) for h in found):
                    problems.append(
                        Problem(
                            page.number,
                            f"{name} — first row: " + " ".join(w.text for w in line)[:60],
                            "table rows without the table's header row on this page",
                        )
                    )
                    break
    return problems


def table_rows(
    data: bytes, labels: Sequence[str], *, cells: int, margins: Margins = PRINT_MARGINS
) -> dict[int, int]:
    """How many rows of the table headed by ``labels`` each page holds (pages without any
    left out): the lines with words starting at ``cells`` of the header's columns at least,
    which a row's first line has (every cell filled, left-aligned ones at their column's
    start) and the further lines of its longer cells have not."""
    pages = read_pages(data)
    lines_of = [
        _lines_of_words(
            [
                w
                for w in page.words()
                if w.top >= margins.top - 2 and w.bottom <= page.height - margins.bottom + 2
            ]
        )
        for page in pages
    ]
    layouts = {
        columns
        for lines in lines_of
        for line in lines
        if (columns := _find_header(line, labels)) is not None
    }
    counts = {}
    for page, lines in zip(pages, lines_of, strict=True):
        rows = sum(
            1
            for line in lines
            if _find_header(line, labels) is None
            and any(_starts(line, columns) >= cells for columns in layouts)
        )
        if rows:
            counts[page.number] = rows
    return counts


# --- all of it -----------------------------------------------------------------------------


def check_pages(
    pages: Sequence[Page],
    *,
    tables: Sequence[Sequence[str]] = (),
    margins: Margins = PRINT_MARGINS,
) -> list[Problem]:
    """Every check on pages already read."""
    return [
        *text_outside_page(pages, margins),
        *overlapping_text(pages),
        *text_across_edges(pages),
        *heading_only_pages(pages, margins),
        *tables_without_header(pages, tables, margins),
    ]


def check_pdf(
    data: bytes,
    *,
    tables: Sequence[Sequence[str]] = (),
    margins: Margins = PRINT_MARGINS,
) -> list[Problem]:
    """Every layout problem of the PDF ``data``, page by page (an empty list when none).

    ``tables`` names the tables whose header rows must head every page they are on, each by
    its header labels in order."""
    return check_pages(read_pages(data), tables=tables, margins=margins)


def describe(problems: Sequence[Problem], limit: int = 40) -> str:
    """The problems one per line, for an assertion message."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more")
    return "\n".join(lines)
