"""Reading metric files into a frame of the canonical columns. Pure: no ORM, no settings.

Formats: CSV, Parquet, JSON Lines, and a JSON document (an array of row objects or
``{"rows": [...]}``, as sent to the API or served by a scheduled pull). Any of them may be
gzip-compressed; gzip is recognised by its magic bytes, whatever the file is called.

A file that cannot be read as a whole raises ``FileRefused`` with a message for the person who
sent it. Rows that cannot be read (a CSV line with the wrong number of fields, a JSON Lines
line that is not a JSON object) become ``RowError``s and the other rows are kept.

Row numbers are the ones the user sees: for CSV and JSON Lines the line number in the file
(the CSV header is line 1, so the first data row is line 2; blank lines count), for Parquet
and JSON arrays the 1-based position of the row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from apps.monitoring.compression import GZIP_MAGIC, GzipCorrupt, GzipTooLarge, gunzip_capped

REQUIRED_COLUMNS = ("model", "version", "metric", "value", "timestamp")
OPTIONAL_COLUMNS = ("segment",)
CANONICAL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
TEXT_COLUMNS = ("model", "version", "metric", "segment")

PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"
VALUE_PREVIEW = 80

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
    """The rows of a file as a frame of the canonical columns.

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


def sniff(data: bytes, file_name: str) -> tuple[str, bool]:
    """Best guess of (format, gzip-compressed) without reading the file; never raises."""
    compressed = data[:2] == GZIP_MAGIC
    fmt, _ = _extension_format(file_name)
    if fmt is None:
        fmt = PARQUET if data[:4] == PARQUET_MAGIC else CSV
    return fmt, compressed


def _decompress(data: bytes, *, max_bytes: int) -> bytes:
    """gunzip, refusing corrupt data and content over ``max_bytes`` (a zip bomb guard)."""
    try:
        return gunzip_capped(data, max_bytes=max_bytes)
    except GzipTooLarge:
        raise FileRefused(
            f"Decompressed, the file is larger than the limit of {_megabytes(max_bytes)}."
        ) from None
    except GzipCorrupt as exc:
        raise FileRefused(
            f"The file starts like a gzip file but could not be decompressed ({exc}). "
            "Upload the file again, or upload it uncompressed."
        ) from exc


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return control > max(1, len(sample) // 20)


_FIRST_NON_SPACE = re.compile(r"\S")


def parse_bytes(data: bytes, *, file_name: str, max_bytes: int) -> ParsedFile:
    """Read ``data`` (named ``file_name``) into a ``ParsedFile``; raise ``FileRefused``."""
    fmt, gz_name = _extension_format(file_name)
    compressed = data[:2] == GZIP_MAGIC
    if gz_name and not compressed:
        raise FileRefused(
            f"{file_name!r} is named as a gzip file but is not gzip-compressed. "
            "Rename it without .gz or compress it with gzip."
        )
    if compressed:
        data = _decompress(data, max_bytes=max_bytes)
    if not data or data.isspace():  # no copy of the file, unlike strip()
        raise FileRefused("The file is empty.")
    if data[:4] == PARQUET_MAGIC:
        fmt = PARQUET
    elif fmt == PARQUET:
        raise FileRefused(f"{file_name!r} is named as a Parquet file but is not one.")
    if fmt != PARQUET:
        if _looks_binary(data[:65536]):
            raise FileRefused(
                "This is not a text file (it contains binary data). Upload CSV, Parquet, "
                "JSON Lines or JSON in the canonical format."
            )
        data = data.removeprefix(UTF8_BOM)
        text = _decode_utf8(data)
        if fmt is None:
            first = _FIRST_NON_SPACE.search(text)
            first = first.group() if first else ""
            fmt = JSON if first == "[" else JSONL if first == "{" else CSV
    reader = {CSV: _read_csv, PARQUET: _read_parquet, JSONL: _read_jsonl, JSON: _read_json}[fmt]
    parsed = reader(data if fmt in (CSV, PARQUET) else text)
    parsed.compressed = compressed
    if not parsed.rows_total:
        raise FileRefused("The file has a header but no data rows.")
    return parsed


def _decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileRefused(
            f"The file is not UTF-8 encoded: byte 0x{data[exc.start]:02X} at offset "
            f"{exc.start} (line {line}) is not valid UTF-8. Save it as UTF-8 "
            '(in spreadsheet programs: "CSV UTF-8"); Latin-1 and Windows-1252 are not accepted.'
        ) from exc


# --- columns ----------------------------------------------------------------------------------


def _expected() -> str:
    return ", ".join(REQUIRED_COLUMNS) + " and optionally " + ", ".join(OPTIONAL_COLUMNS)


def check_columns(found: list[str]) -> None:
    """Refuse missing, repeated or unknown columns, naming them and what is expected."""
    repeated = sorted({c for c in found if found.count(c) > 1})
    if repeated:
        raise FileRefused(f"Columns appear more than once: {', '.join(repeated)}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
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
    if "segment" not in frame:
        frame["segment"] = pd.Series([""] * n, dtype="str") if n else pd.Series([], dtype="str")
    return frame[list(CANONICAL_COLUMNS)]


# --- CSV --------------------------------------------------------------------------------------


def _csv_header(data: bytes) -> tuple[list[str], int]:
    """The normalised header names and the byte offset where the header line starts."""
    start = len(data) - len(data.lstrip(b"\r\n"))
    end = data.find(b"\n", start)
    line = data[start : end if end >= 0 else len(data)].decode("utf-8").rstrip("\r")
    names = [name.strip().lower() for name in next(csv.reader([line]))]
    if len(names) == 1:
        for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in line:
                raise FileRefused(
                    f"The header line is separated by {label}; use commas "
                    f"(expected columns: {', '.join(CANONICAL_COLUMNS)})."
                )
    return names, start


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


def _read_csv(data: bytes) -> ParsedFile:
    names, start = _csv_header(data)
    check_columns(names)
    invalid: list[tuple[int, str, int]] = []

    def on_invalid_row(row) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data[start:] if start else data),
            read_options=pacsv.ReadOptions(
                use_threads=False, skip_rows=1, column_names=names, block_size=1 << 24
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

    # pyarrow numbers rows among the non-blank lines, the header being 1.
    lines = None

    def numbering(positions: np.ndarray) -> np.ndarray:
        nonlocal lines
        if lines is None:
            nonblank = _line_numbers(data)
            skipped = {number for number, _, _ in invalid}
            keep = np.ones(len(nonblank), dtype=bool)
            keep[0] = False  # the header
            for number in skipped:
                if 0 < number <= len(keep):
                    keep[number - 1] = False
            lines = nonblank[keep]
            if len(lines) != len(frame):  # e.g. bare CR line endings: count rows instead
                lines = np.arange(len(frame), dtype=np.int64) + 2
        return lines[positions]

    errors = []
    if invalid:
        nonblank = _line_numbers(data)
        for number, text, found in invalid[:1000]:
            line = int(nonblank[number - 1]) if 0 < number <= len(nonblank) else number
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


def _read_parquet(data: bytes) -> ParsedFile:
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileRefused(f"The Parquet file could not be read: {exc}") from exc
    names = [name.strip().lower() for name in table.column_names]
    check_columns(names)
    table = table.rename_columns(names)
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
    frame = _frame_from_columns(columns, table.num_rows)
    return ParsedFile(frame=frame, file_format=PARQUET, compressed=False)


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


def _records_frame(records: list[dict], numbers: list[int]) -> tuple[pd.DataFrame, np.ndarray]:
    keys: list[str] = []
    for record in records:
        for key in record:
            if key not in keys:
                keys.append(key)
    names = [key.strip().lower() for key in keys]
    check_columns(names)
    columns = {
        name: pd.Series([_cell(r.get(key)) for r in records], dtype="str")
        for key, name in zip(keys, names, strict=True)
    }
    return _frame_from_columns(columns, len(records)), np.asarray(numbers, dtype=np.int64)


def _numbered(numbers: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda positions: numbers[positions]


def _read_jsonl(text: str) -> ParsedFile:
    records, numbers, errors = [], [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            reason = (
                f"Not valid JSON: {getattr(exc, 'msg', exc)} (column {getattr(exc, 'colno', '?')})."
            )
            errors.append(RowError(number, "", preview(line), reason))
            continue
        if not isinstance(record, dict):
            errors.append(RowError(number, "", preview(line), "Each line must be a JSON object."))
            continue
        records.append(record)
        numbers.append(number)
    if not records and not errors:
        raise FileRefused("The file is empty.")
    if not records:
        raise FileRefused(
            f"No line of the file is a JSON object (line {errors[0].row}: {errors[0].reason})"
        )
    frame, rows = _records_frame(records, numbers)
    return ParsedFile(
        frame=frame,
        file_format=JSONL,
        compressed=False,
        errors=errors[:1000],
        unreadable_rows=len(errors),
        numbering=_numbered(rows),
    )


def rows_from_json(document) -> list:
    """The rows of a JSON document: an array of row objects or ``{"rows": [...]}``."""
    if isinstance(document, dict) and isinstance(document.get("rows"), list):
        return document["rows"]
    if isinstance(document, list):
        return document
    raise FileRefused('A JSON file must be an array of row objects or {"rows": [...]}.')


def _read_json(text: str) -> ParsedFile:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise FileRefused(
            f"The file is not valid JSON: {getattr(exc, 'msg', exc)} at line "
            f"{getattr(exc, 'lineno', '?')}, column {getattr(exc, 'colno', '?')}."
        ) from exc
    rows = rows_from_json(document)
    records, numbers, errors = [], [], []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            records.append(row)
            numbers.append(number)
        else:
            errors.append(RowError(number, "", preview(row), "Each row must be a JSON object."))
    if not records:
        if errors:
            raise FileRefused("No row of the file is a JSON object.")
        raise FileRefused("The JSON file has no rows.")
    frame, rows_numbers = _records_frame(records, numbers)
    return ParsedFile(
        frame=frame,
        file_format=JSON,
        compressed=False,
        errors=errors[:1000],
        unreadable_rows=len(errors),
        numbering=_numbered(rows_numbers),
    )


def json_rows_bytes(rows: list) -> bytes:
    """The canonical bytes of API rows: the same rows always hash to the same checksum."""
    return json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
