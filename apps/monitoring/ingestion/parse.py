"""Reading metric files into frames of the canonical columns, chunk by chunk. Pure: no ORM,
no settings.

Formats: CSV, Parquet, JSON Lines, and a JSON document (an array of row objects or
``{"rows": [...]}``, as sent to the API or served by a scheduled pull). Any of them may be
gzip-compressed; gzip is recognised by its magic bytes, whatever the file is called.

Memory is bounded by design, whatever the file's size: ``read_chunks`` takes a binary file
object (the stored upload) and yields ``ParsedFile`` chunks of at most about
``CHUNK_BYTES`` of text or ``CHUNK_ROWS`` rows. gzip is decompressed as a stream, refused
once its content passes ``max_bytes``. The bounds per format:

- CSV and JSON Lines: blocks of ``CHUNK_BYTES`` cut after the last line break; a single line
  longer than ``MAX_LINE_BYTES`` is refused.
- JSON documents: row objects are decoded one at a time from a sliding text buffer
  (``json.JSONDecoder.raw_decode``); a single value over ``MAX_LINE_BYTES`` is refused.
- Parquet: read one record batch of at most ``CHUNK_ROWS`` rows at a time. Parquet is read
  by row group, so a file whose largest row group holds more than
  ``PARQUET_MAX_ROW_GROUP_BYTES`` uncompressed is refused (rewrite it with smaller row
  groups). A gzip-compressed Parquet file is decompressed to a temporary file first, since
  Parquet needs random access.

A file that cannot be read as a whole raises ``FileRefused`` with a message for the person who
sent it. Rows that cannot be read (a CSV line with the wrong number of fields, a JSON Lines
line that is not a JSON object) become ``RowError``s and the other rows are kept.

Row numbers are the ones the user sees: for CSV and JSON Lines the line number in the file
(the CSV header is line 1, so the first data row is line 2; blank lines count), for Parquet
and JSON arrays the 1-based position of the row. Chunks carry the row numbers of their rows,
so errors found in any chunk name the file's rows.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import json
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from apps.monitoring.compression import GZIP_MAGIC

REQUIRED_COLUMNS = ("model", "version", "metric", "value", "timestamp")
OPTIONAL_COLUMNS = ("segment",)
CANONICAL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
TEXT_COLUMNS = ("model", "version", "metric", "segment")

PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"
VALUE_PREVIEW = 80
#: Text read per chunk (CSV, JSON Lines) and rows per chunk (Parquet, JSON documents).
CHUNK_BYTES = 8 << 20
CHUNK_ROWS = 100_000
#: The longest line (CSV, JSON Lines) or single JSON value accepted.
MAX_LINE_BYTES = 1 << 20
#: The largest Parquet row group (uncompressed) read at once.
PARQUET_MAX_ROW_GROUP_BYTES = 256 << 20
#: Row errors kept per kind of unreadable row (all are counted).
MAX_UNREADABLE_KEPT = 1000

CSV, PARQUET, JSONL, JSON = "csv", "parquet", "jsonl", "json"
EXTENSIONS = {
    ".csv": CSV,
    ".txt": CSV,
    ".parquet": PARQUET,
    ".pq": PARQUET,
    ".jsonl": JSONL,
    ".ndjson": JSONL,
    ".json": JSON,
}


class FileRefused(Exception):
    """The file as a whole cannot be ingested; ``message`` says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    """One reason one row was rejected. ``row`` is numbered as the user sees it."""

    row: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


def preview(value) -> str:
    """A cell as shown in an error: text, cut to a readable length."""
    text = "" if value is None else str(value)
    return text if len(text) <= VALUE_PREVIEW else text[: VALUE_PREVIEW - 1] + "…"


@dataclass
class ParsedFile:
    """Rows of a file (all of them, or one chunk) as a frame of the canonical columns.

    Text columns are strings ("" when absent); ``value`` is float64 or text and
    ``timestamp`` a UTC datetime or text, depending on what the format carries.
    ``errors`` are rows that could not be read at all (not in ``frame``).
    """

    frame: pd.DataFrame
    file_format: str
    compressed: bool
    errors: list[RowError] = field(default_factory=list)
    unreadable_rows: int = 0
    #: Maps positions in ``frame`` to the row numbers the user sees.
    numbering: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def rows_total(self) -> int:
        return len(self.frame) + self.unreadable_rows

    def row_numbers(self, positions) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.int64)
        if self.numbering is None or not len(positions):
            return positions + 1
        return self.numbering(positions)


def _numbered(numbers: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda positions: numbers[positions]


# --- detection --------------------------------------------------------------------------------


def _extension_format(file_name: str) -> tuple[str | None, bool]:
    name = (file_name or "").lower().strip()
    gz_name = name.endswith((".gz", ".gzip"))
    if gz_name:
        name = name.rsplit(".", 1)[0]
    for ext, fmt in EXTENSIONS.items():
        if name.endswith(ext):
            return fmt, gz_name
    return None, gz_name


def sniff(head: bytes, file_name: str) -> tuple[str, bool]:
    """Best guess of (format, gzip-compressed) from the file's first bytes; never raises."""
    compressed = head[:2] == GZIP_MAGIC
    fmt, _ = _extension_format(file_name)
    if fmt is None:
        fmt = PARQUET if head[:4] == PARQUET_MAGIC else CSV
    return fmt, compressed


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return control > max(1, len(sample) // 20)


_FIRST_NON_SPACE = re.compile(rb"\S")


class _Capped(io.RawIOBase):
    """A readable stream over ``source`` (gunzipped when ``gzipped``) that refuses content
    past ``max_bytes`` and turns corrupt gzip into ``FileRefused``."""

    def __init__(self, source: BinaryIO, *, gzipped: bool, max_bytes: int):
        self._stream = gzip.GzipFile(fileobj=source, mode="rb") if gzipped else source
        self._gzipped = gzipped
        self._max = max_bytes
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._max + 1
        try:
            data = self._stream.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            if not self._gzipped:
                raise
            raise FileRefused(
                f"The file starts like a gzip file but could not be decompressed ({exc}). "
                "Upload the file again, or upload it uncompressed."
            ) from exc
        self.count += len(data)
        if self.count > self._max:
            if self._gzipped:
                raise FileRefused(
                    f"Decompressed, the file is larger than the limit of {_megabytes(self._max)}."
                )
            raise FileRefused(f"The file is larger than the limit of {_megabytes(self._max)}.")
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_exactly(stream, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        data = stream.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


@dataclass
class FileInfo:
    """What ``read_chunks`` learned about the file as a whole (filled in as it reads)."""

    file_format: str = CSV
    compressed: bool = False
    rows_total: int = 0
    #: Bytes of the stored file consumed so far (for progress).
    position: int = 0


def read_chunks(
    source: BinaryIO,
    *,
    file_name: str,
    max_bytes: int,
    info: FileInfo | None = None,
    chunk_bytes: int | None = None,
    chunk_rows: int | None = None,
) -> Iterator[ParsedFile]:
    """The rows of ``source`` (a binary file object at its start), in chunks; raise
    ``FileRefused`` for a file that cannot be read as a whole (possibly after some chunks:
    callers keep nothing until the last chunk was read)."""
    info = info if info is not None else FileInfo()
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    chunk_rows = chunk_rows or CHUNK_ROWS
    fmt, gz_name = _extension_format(file_name)
    magic = _read_exactly(source, 2)
    compressed = magic == GZIP_MAGIC
    source.seek(0)
    if gz_name and not compressed:
        raise FileRefused(
            f"{file_name!r} is named as a gzip file but is not gzip-compressed. "
            "Rename it without .gz or compress it with gzip."
        )
    info.compressed = compressed
    stream = _Capped(source, gzipped=compressed, max_bytes=max_bytes)
    head = _read_exactly(stream, 65536)
    if not head or (len(head) < 65536 and head.isspace()):
        raise FileRefused("The file is empty.")
    if head[:4] == PARQUET_MAGIC:
        fmt = PARQUET
    elif fmt == PARQUET:
        raise FileRefused(f"{file_name!r} is named as a Parquet file but is not one.")
    if fmt == PARQUET:
        info.file_format = PARQUET
        for chunk in _parquet_chunks(source, stream, head, compressed, info, chunk_rows):
            chunk.compressed = compressed
            yield chunk
        return
    if _looks_binary(head):
        raise FileRefused(
            "This is not a text file (it contains binary data). Upload CSV, Parquet, "
            "JSON Lines or JSON in the canonical format."
        )
    bom = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
    if fmt is None:
        first = _FIRST_NON_SPACE.search(head, bom)
        first = first.group() if first else b""
        fmt = JSON if first == b"[" else JSONL if first == b"{" else CSV
    info.file_format = fmt
    blocks = _blocks(source, stream, head, bom, chunk_bytes, info)
    reader = {CSV: _csv_chunks, JSONL: _jsonl_chunks, JSON: _json_chunks}[fmt]
    for chunk in reader(blocks, chunk_rows):
        chunk.compressed = compressed
        info.rows_total += chunk.rows_total
        yield chunk
    if not info.rows_total:
        raise FileRefused("The file has a header but no data rows.")


def parse_bytes(data: bytes, *, file_name: str, max_bytes: int) -> ParsedFile:
    """Read all of ``data`` (named ``file_name``) into one ``ParsedFile``; raise
    ``FileRefused``. For small content (tests, previews): large files go through
    ``read_chunks``."""
    info = FileInfo()
    chunks = list(
        read_chunks(io.BytesIO(data), file_name=file_name, max_bytes=max_bytes, info=info)
    )
    frames = [c.frame for c in chunks]
    numbers = np.concatenate([c.row_numbers(np.arange(len(c.frame))) for c in chunks])
    errors = [e for c in chunks for e in c.errors]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return ParsedFile(
        frame=frame,
        file_format=info.file_format,
        compressed=info.compressed,
        errors=errors,
        unreadable_rows=sum(c.unreadable_rows for c in chunks),
        numbering=_numbered(numbers.astype(np.int64)),
    )


# --- text blocks ------------------------------------------------------------------------------


@dataclass
class _Block:
    """Whole lines of the file: ``data`` starts at file line ``first_line`` and byte
    ``offset`` (of the decompressed content)."""

    data: bytes
    first_line: int
    offset: int


def _blocks(
    source, stream: _Capped, head: bytes, bom: int, size: int, info: FileInfo
) -> Iterator[_Block]:
    """The text as blocks of whole lines (cut after the last line break), UTF-8 checked."""
    pending = head[bom:]
    offset, line = bom, 1
    eof = False
    while True:
        while not eof and len(pending) < size:
            more = stream.read(size)
            if not more:
                eof = True
            pending += more
        info.position = _position(source)
        if not pending:
            return
        limit = min(len(pending), size)
        cut = pending.rfind(b"\n", 0, limit) + 1 or pending.rfind(b"\r", 0, limit) + 1
        if not cut or (eof and len(pending) <= size):
            # No line break in the first ``size`` bytes: the first line is a long one.
            cut = len(pending) if eof else pending.find(b"\n") + 1
            if cut > max(size, MAX_LINE_BYTES) or (not cut and len(pending) > MAX_LINE_BYTES):
                raise FileRefused(
                    f"Line {line} is longer than {_megabytes(MAX_LINE_BYTES)}; "
                    "is this a metrics file?"
                )
            if not cut:
                more = stream.read(size)
                if not more:
                    eof = True
                pending += more
                continue
        data, pending = pending[:cut], pending[cut:]
        _check_utf8(data, offset, line)
        yield _Block(data, line, offset)
        line += data.count(b"\n")
        offset += len(data)


def _position(source) -> int:
    try:
        return source.tell()
    except (OSError, ValueError):
        return 0


def _check_utf8(data: bytes, offset: int, line: int) -> None:
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError as exc:
        line += data.count(b"\n", 0, exc.start)
        raise FileRefused(
            f"The file is not UTF-8 encoded: byte 0x{data[exc.start]:02X} at offset "
            f"{offset + exc.start} (line {line}) is not valid UTF-8. Save it as UTF-8 "
            '(in spreadsheet programs: "CSV UTF-8"); Latin-1 and Windows-1252 are not accepted.'
        ) from exc


# --- columns ----------------------------------------------------------------------------------


def _expected() -> str:
    return ", ".join(REQUIRED_COLUMNS) + " and optionally " + ", ".join(OPTIONAL_COLUMNS)


def check_columns(found: list[str], *, required: bool = True) -> None:
    """Refuse missing (when ``required``), repeated or unknown columns, naming them and what
    is expected."""
    repeated = sorted({c for c in found if found.count(c) > 1})
    if repeated:
        raise FileRefused(f"Columns appear more than once: {', '.join(repeated)}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in found] if required else []
    unknown = [c for c in found if c not in CANONICAL_COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(repr(c) for c in unknown)}")
    if problems:
        message = "; ".join(problems)
        raise FileRefused(
            f"{message[0].upper()}{message[1:]}. Expected {_expected()}; "
            f"found {', '.join(found) or 'none'}."
        )


def _frame_from_columns(columns: dict[str, object], n: int) -> pd.DataFrame:
    frame = pd.DataFrame({c: columns[c] for c in CANONICAL_COLUMNS if c in columns})
    for name in CANONICAL_COLUMNS:
        if name not in frame:
            frame[name] = pd.Series([""] * n, dtype="str") if n else pd.Series([], dtype="str")
    return frame[list(CANONICAL_COLUMNS)]


# --- CSV --------------------------------------------------------------------------------------


def _csv_header(data: bytes) -> tuple[list[str], int]:
    """The normalised header names and the byte offset just past the header line."""
    start = len(data) - len(data.lstrip(b"\r\n"))
    end = data.find(b"\n", start)
    end = end + 1 if end >= 0 else len(data)
    line = data[start:end].decode("utf-8").rstrip("\r\n")
    names = [name.strip().lower() for name in next(csv.reader([line]))]
    if len(names) == 1:
        for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in line:
                raise FileRefused(
                    f"The header line is separated by {label}; use commas "
                    f"(expected columns: {', '.join(CANONICAL_COLUMNS)})."
                )
    return names, end


def _line_numbers(data: bytes) -> np.ndarray:
    """Line numbers (1-based) of the non-blank lines of ``data``."""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(arr)]))
    lengths = ends - starts
    last_char = arr[np.clip(starts, 0, max(len(arr) - 1, 0))] if len(arr) else starts
    blank = (lengths == 0) | ((lengths == 1) & (last_char == 13))
    return np.flatnonzero(~blank) + 1


def _csv_chunks(blocks: Iterator[_Block], chunk_rows: int) -> Iterator[ParsedFile]:
    names: list[str] | None = None
    rows_before = 0  # data rows read so far (for files whose lines cannot be counted)
    for block in blocks:
        data, first_line = block.data, block.first_line
        if names is None:
            if not data.strip():
                continue  # blank lines before the header
            names, end = _csv_header(data)
            check_columns(names)
            first_line += data.count(b"\n", 0, end)
            data = data[end:]
        if not data.strip():
            continue
        chunk = _read_csv_block(data, names, first_line, rows_before)
        rows_before += len(chunk.frame)
        yield chunk
    if names is None:
        raise FileRefused("The file is empty.")


def _read_csv_block(data: bytes, names: list[str], first_line: int, rows_before: int):
    invalid: list[tuple[int, str, int]] = []

    def on_invalid_row(row) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                use_threads=False, column_names=names, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise FileRefused(f"The CSV file could not be read: {exc}") from exc
    frame = _frame_from_columns(
        {name: table.column(name).to_pandas().astype("str") for name in names}, table.num_rows
    )
    del table
    # pyarrow numbers rows among the block's non-blank lines, from 1. The line numbers are
    # worked out when asked for (errors, a staged load), not for every chunk.
    nonblank_lines: list[np.ndarray] = []

    def nonblank() -> np.ndarray:
        if not nonblank_lines:
            nonblank_lines.append(_line_numbers(data) + (first_line - 1))
        return nonblank_lines[0]

    lines: list[np.ndarray] = []

    def numbering(positions: np.ndarray) -> np.ndarray:
        if not lines:
            keep = np.ones(len(nonblank()), dtype=bool)
            for number, _, _ in invalid:
                if 0 < number <= len(keep):
                    keep[number - 1] = False
            found = nonblank()[keep]
            if len(found) != len(frame):  # e.g. bare CR line endings: count rows instead
                found = np.arange(len(frame), dtype=np.int64) + rows_before + 2
            lines.append(found.astype(np.int64))
        return lines[0][positions]

    errors = []
    for number, text, found in invalid[:MAX_UNREADABLE_KEPT]:
        line = int(nonblank()[number - 1]) if 0 < number <= len(nonblank()) else number
        errors.append(
            RowError(
                line,
                "",
                preview(text),
                f"Expected {len(names)} comma-separated fields, found {found}.",
            )
        )
    return ParsedFile(
        frame=frame,
        file_format=CSV,
        compressed=False,
        errors=errors,
        unreadable_rows=len(invalid),
        numbering=numbering,
    )


# --- Parquet ----------------------------------------------------------------------------------


def _parquet_chunks(source, stream, head, compressed, info, chunk_rows):
    with contextlib.ExitStack() as stack:
        if compressed:
            # Parquet needs random access: the content goes to a temporary file, not memory.
            target = stack.enter_context(tempfile.TemporaryFile(prefix="mlgov-ingest-"))
            target.write(head)
            shutil.copyfileobj(stream, target, 1 << 20)
            target.seek(0)
        else:
            source.seek(0)
            target = source
        yield from _parquet_batches(target, source if not compressed else None, info, chunk_rows)


def _parquet_batches(target, source, info, chunk_rows):
    try:
        handle = pq.ParquetFile(target)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileRefused(f"The Parquet file could not be read: {exc}") from exc
    meta = handle.metadata
    largest = max(
        (meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)), default=0
    )
    if largest > PARQUET_MAX_ROW_GROUP_BYTES:
        raise FileRefused(
            f"A row group of the Parquet file holds {_megabytes(largest)} uncompressed; the "
            f"limit is {_megabytes(PARQUET_MAX_ROW_GROUP_BYTES)}. Write it with smaller row "
            "groups (e.g. row_group_size=100000)."
        )
    names = [name.strip().lower() for name in handle.schema_arrow.names]
    check_columns(names)
    position = 0
    try:
        for batch in handle.iter_batches(batch_size=chunk_rows, use_threads=False):
            table = pa.Table.from_batches([batch]).rename_columns(names)
            frame = _parquet_frame(table, names)
            numbers = np.arange(len(frame), dtype=np.int64) + position + 1
            position += len(frame)
            info.rows_total += len(frame)
            if source is not None:
                info.position = _position(source)
            yield ParsedFile(
                frame=frame, file_format=PARQUET, compressed=False, numbering=_numbered(numbers)
            )
    except (pa.ArrowException, OSError) as exc:
        raise FileRefused(f"The Parquet file could not be read: {exc}") from exc
    if not position:
        raise FileRefused("The file has a header but no data rows.")


def _parquet_frame(table: pa.Table, names: list[str]) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for name in names:
        col = table.column(name).combine_chunks()
        kind = col.type
        if pa.types.is_dictionary(kind):
            col = col.dictionary_decode()
            kind = col.type
        if name in TEXT_COLUMNS:
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                raise FileRefused(
                    f"Column {name!r} is of type {kind} in the Parquet file; it must be text."
                )
            columns[name] = pc.fill_null(col, "").to_pandas().astype("str")
        elif name == "value":
            if pa.types.is_integer(kind) or pa.types.is_floating(kind):
                # Nulls become NaN and are rejected as missing values by validation.
                columns[name] = pd.Series(
                    col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype="float64"
                )
            elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
                columns[name] = pc.fill_null(col, "").to_pandas().astype("str")
            else:
                raise FileRefused(
                    f"Column 'value' is of type {kind} in the Parquet file; it must be numeric."
                )
        else:  # timestamp
            if pa.types.is_timestamp(kind):
                if kind.tz is None:
                    raise FileRefused(
                        f"Column 'timestamp' has no time zone ({kind}); store the times with a "
                        "zone, e.g. as timestamp[us, tz=UTC]."
                    )
                utc = col.cast(pa.timestamp("us", tz="UTC"))
                columns[name] = pd.Series(utc.to_pandas(), dtype="datetime64[us, UTC]")
            elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
                columns[name] = pc.fill_null(col, "").to_pandas().astype("str")
            else:
                raise FileRefused(
                    f"Column 'timestamp' is of type {kind} in the Parquet file; it must be a "
                    "timestamp with time zone or ISO 8601 text."
                )
    return _frame_from_columns(columns, table.num_rows)


# --- JSON -------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


class _Records:
    """Row objects gathered into chunks; the columns seen are checked chunk by chunk
    (unknown or repeated ones at once, missing ones at the end, over the whole file)."""

    def __init__(self, file_format: str):
        self.file_format = file_format
        self.names: list[str] = []
        self.records: list[dict] = []
        self.numbers: list[int] = []
        self.errors: list[RowError] = []
        self.unreadable = 0
        self.rows = 0

    def error(self, error: RowError) -> None:
        self.unreadable += 1
        if len(self.errors) < MAX_UNREADABLE_KEPT:
            self.errors.append(error)

    def chunk(self) -> ParsedFile:
        keys: list[str] = []
        seen: set[str] = set()
        for record in self.records:
            for key in record:
                if key not in seen:
                    seen.add(key)
                    keys.append(key)
        names = [key.strip().lower() for key in keys]
        check_columns(names, required=False)
        for name in names:
            if name not in self.names:
                self.names.append(name)
        columns = {
            name: pd.Series([_cell(r.get(key)) for r in self.records], dtype="str")
            for key, name in zip(keys, names, strict=True)
        }
        parsed = ParsedFile(
            frame=_frame_from_columns(columns, len(self.records)),
            file_format=self.file_format,
            compressed=False,
            errors=self.errors,
            unreadable_rows=self.unreadable,
            numbering=_numbered(np.asarray(self.numbers, dtype=np.int64)),
        )
        self.rows += len(self.records)
        self.records, self.numbers, self.errors, self.unreadable = [], [], [], 0
        return parsed

    def check_all_columns(self) -> None:
        check_columns(self.names)


def _jsonl_chunks(blocks: Iterator[_Block], chunk_rows: int) -> Iterator[ParsedFile]:
    out = _Records(JSONL)
    first_error: RowError | None = None
    any_line = False
    for block in blocks:
        text = block.data.decode("utf-8")
        for number, line in enumerate(text.split("\n"), start=block.first_line):
            if not line.strip():
                continue
            any_line = True
            try:
                record = json.loads(line)
            except ValueError as exc:
                reason = (
                    f"Not valid JSON: {getattr(exc, 'msg', exc)} "
                    f"(column {getattr(exc, 'colno', '?')})."
                )
                error = RowError(number, "", preview(line), reason)
                first_error = first_error or error
                out.error(error)
                continue
            if not isinstance(record, dict):
                error = RowError(number, "", preview(line), "Each line must be a JSON object.")
                first_error = first_error or error
                out.error(error)
                continue
            out.records.append(record)
            out.numbers.append(number)
        if out.records:  # one chunk per block: a block holds at most CHUNK_BYTES of text
            yield out.chunk()
        elif out.unreadable:
            yield _unreadable_only(out)
    if not any_line:
        raise FileRefused("The file is empty.")
    if not out.rows:
        raise FileRefused(
            f"No line of the file is a JSON object (line {first_error.row}: {first_error.reason})"
        )
    out.check_all_columns()


def _unreadable_only(out: _Records) -> ParsedFile:
    parsed = ParsedFile(
        frame=_frame_from_columns({}, 0),
        file_format=out.file_format,
        compressed=False,
        errors=out.errors,
        unreadable_rows=out.unreadable,
    )
    out.errors, out.unreadable = [], 0
    return parsed


def rows_from_json(document) -> list:
    """The rows of a JSON document: an array of row objects or ``{"rows": [...]}``."""
    if isinstance(document, dict) and isinstance(document.get("rows"), list):
        return document["rows"]
    if isinstance(document, list):
        return document
    raise FileRefused('A JSON file must be an array of row objects or {"rows": [...]}.')


NOT_ROWS = 'A JSON file must be an array of row objects or {"rows": [...]}.'
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _JsonText:
    """A sliding window over the decoded text of the blocks, for decoding one JSON value at
    a time; knows the line and column of any position, for error messages."""

    def __init__(self, blocks: Iterator[_Block]):
        self._blocks = blocks
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self._line_base = 1  # line number of buffer[0]
        self._col_base = 0  # characters before buffer[0] on its line
        self._decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        block = next(self._blocks, None)
        if block is None:
            self.eof = True
            return False
        dropped = self.buffer[: self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self._line_base += newlines
            self._col_base = len(dropped) - dropped.rfind("\n") - 1
        else:
            self._col_base += len(dropped)
        self.buffer = self.buffer[self.pos :] + block.data.decode("utf-8")
        self.pos = 0
        return True

    def where(self, pos: int) -> tuple[int, int]:
        before = self.buffer[:pos]
        newlines = before.count("\n")
        if newlines:
            return self._line_base + newlines, pos - before.rfind("\n")
        return self._line_base, self._col_base + pos + 1

    def refuse(self, message: str, pos: int) -> FileRefused:
        line, column = self.where(pos)
        return FileRefused(
            f"The file is not valid JSON: {message} at line {line}, column {column}."
        )

    def peek(self) -> str:
        """The next non-whitespace character ("" at the end)."""
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str, message: str) -> None:
        if self.peek() != char:
            raise self.refuse(message, self.pos)
        self.pos += 1

    def value(self):
        """Decode the next value, reading more text while it may be incomplete (at least
        ``MAX_LINE_BYTES`` are looked at before an error is reported)."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buffer) - self.pos < MAX_LINE_BYTES and self._more():
                    continue
                raise self.refuse(exc.msg, exc.pos) from exc
            if end >= len(self.buffer) and self._more():
                continue  # a number at the very end may go on in the next block
            self.pos = end
            return value


def _json_rows(text: _JsonText) -> Iterator[object]:
    """The rows of a JSON document, one at a time."""
    first = text.peek()
    if first == "[":
        yield from _json_array(text)
    elif first == "{":
        text.pos += 1
        found = False
        while True:
            if text.peek() == "}":
                text.pos += 1
                break
            key = text.value()
            if not isinstance(key, str):
                raise text.refuse("Expecting property name enclosed in double quotes", text.pos)
            text.expect(":", "Expecting ':' delimiter")
            if key == "rows" and text.peek() == "[":
                found = True
                yield from _json_array(text)
            else:
                text.value()
                if key == "rows":
                    raise FileRefused(NOT_ROWS)
            following = text.peek()
            if following == ",":
                text.pos += 1
            elif following != "}":
                raise text.refuse("Expecting ',' delimiter", text.pos)
        if not found:
            raise FileRefused(NOT_ROWS)
    elif first == "":
        raise FileRefused("The file is empty.")
    else:
        text.value()  # an error naming the position, or a scalar
        raise FileRefused(NOT_ROWS)
    if text.peek() != "":
        raise text.refuse("Extra data", text.pos)


def _json_array(text: _JsonText) -> Iterator[object]:
    text.expect("[", "Expecting value")
    if text.peek() == "]":
        text.pos += 1
        return
    while True:
        yield text.value()
        following = text.peek()
        text.pos += 1
        if following == "]":
            return
        if following != ",":
            raise text.refuse("Expecting ',' delimiter", text.pos - 1)


def _json_chunks(blocks: Iterator[_Block], chunk_rows: int) -> Iterator[ParsedFile]:
    out = _Records(JSON)
    number = 0
    for number, row in enumerate(_json_rows(_JsonText(blocks)), start=1):
        if isinstance(row, dict):
            out.records.append(row)
            out.numbers.append(number)
            if len(out.records) >= chunk_rows:
                yield out.chunk()
        else:
            out.error(RowError(number, "", preview(row), "Each row must be a JSON object."))
    if out.records:
        yield out.chunk()
    elif out.unreadable:
        yield _unreadable_only(out)
    if not out.rows:
        if number:
            raise FileRefused("No row of the file is a JSON object.")
        raise FileRefused("The JSON file has no rows.")
    out.check_all_columns()


def json_rows_bytes(rows: list) -> bytes:
    """The canonical bytes of API rows: the same rows always hash to the same checksum."""
    return json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
