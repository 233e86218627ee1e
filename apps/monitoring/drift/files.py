"""Reading the reference and current samples of a drift run: CSV (comma, semicolon, tab or
pipe separated, UTF-8), Parquet, either gzip-compressed. Pure (no ORM): file objects in,
frames out, ``SampleError`` with a message a person can act on otherwise.

Memory is bounded by design. A sample is never read whole into memory: ``SampleFile`` opens
a file object (an upload spooled to disk, or the stored file), decompresses gzip as a
stream into a temporary file, refusing it once past ``Limits.decompressed_bytes``, and
refuses more than ``Limits.columns`` columns or ``Limits.rows`` rows (CSV rows are counted
as lines while the content streams by; Parquet's come from its footer) before any column
is read. The worker then reads a few columns of all rows at a time (``SampleFile.columns``),
so a run's memory is bounded by the row cap times the columns per pass, whatever the
files' sizes.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from apps.monitoring.compression import GZIP_MAGIC
from apps.monitoring.drift.stats import infer_kind

PARQUET_MAGIC = b"PAR1"
DELIMITERS = ",;\t|"
#: Rows read when an upload is checked before it is queued.
PREVIEW_ROWS = 1000
#: Text read to find the header and the delimiter.
HEAD_BYTES = 65536
#: Bytes of CSV read for the preview of an upload (whole lines, at most PREVIEW_ROWS).
PREVIEW_BYTES = 8 << 20
METRIC_PART_MAX = 88  # MetricDefinition.name holds 100 characters; "drift.score." takes 12
MB = 1024 * 1024


class SampleError(ValueError):
    """A sample file cannot be used; the message says why."""


@dataclass(frozen=True)
class Limits:
    """Caps on a sample's content (settings ``MLGOV_DRIFT_MAX_DECOMPRESSED_BYTES``,
    ``MLGOV_DRIFT_MAX_ROWS``, ``MLGOV_DRIFT_MAX_COLUMNS``)."""

    decompressed_bytes: int
    rows: int
    columns: int


@dataclass(frozen=True)
class Sample:
    sha256: str
    file_format: str  # "csv" or "parquet"
    compressed: bool
    rows: int
    columns: int


def sha256_of(source: bytes | BinaryIO) -> str:
    """SHA-256 of bytes, or of a file object read in 1 MB chunks (left at its start)."""
    if isinstance(source, bytes | bytearray):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(1 << 20):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


def _count_lines(chunk: bytes, state: list[int]) -> None:
    state[0] += chunk.count(b"\n")
    state[1] = chunk[-1] if chunk else state[1]


class SampleFile:
    """One sample opened for reading, checked against the limits (see the module). Use as a
    context manager: a temporary file holding decompressed content is removed on exit."""

    def __init__(self, source: BinaryIO, *, label: str, limits: Limits):
        self.label = label
        self.limits = limits
        self._stack = contextlib.ExitStack()
        try:
            self._open(source)
        except BaseException:
            self._stack.close()
            raise

    def __enter__(self) -> SampleFile:
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def close(self) -> None:
        self._stack.close()

    # --- opening ------------------------------------------------------------------------------

    def _refuse_size(self) -> SampleError:
        cap = self.limits.decompressed_bytes
        return SampleError(
            f"The {self.label} file is larger than {_size(cap)} once decompressed "
            "(MLGOV_DRIFT_MAX_DECOMPRESSED_BYTES)."
        )

    def _open(self, source: BinaryIO) -> None:
        source.seek(0)
        magic = source.read(4)
        source.seek(0)
        if not magic:
            raise SampleError(f"The {self.label} file is empty.")
        self.compressed = magic[:2] == GZIP_MAGIC
        lines = [0, 10]  # newlines seen, last byte
        if self.compressed:
            spool = tempfile.TemporaryFile(prefix="mlgov-drift-")  # noqa: SIM115 (the stack closes it)
            self.handle = self._stack.enter_context(spool)
            self._gunzip(source, lines)
        else:
            self.handle = source
            size = 0
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > self.limits.decompressed_bytes:
                    raise self._refuse_size()
                _count_lines(chunk, lines)
        self.handle.seek(0)
        head = self.handle.read(HEAD_BYTES)
        self.handle.seek(0)
        if not head:
            raise SampleError(f"The {self.label} file is empty.")
        if head[:4] == PARQUET_MAGIC:
            self._open_parquet()
        else:
            self._open_csv(head, lines)
        if len(self.names) > self.limits.columns:
            raise SampleError(
                f"The {self.label} file has {len(self.names):,} columns; the limit is "
                f"{self.limits.columns:,} (MLGOV_DRIFT_MAX_COLUMNS)."
            )
        if self.rows > self.limits.rows:
            raise SampleError(
                f"The {self.label} file has more than {self.limits.rows:,} rows "
                f"({self.rows:,}{' lines' if self.file_format == 'csv' else ''}); the limit is "
                f"{self.limits.rows:,} (MLGOV_DRIFT_MAX_ROWS)."
            )

    def _gunzip(self, source: BinaryIO, lines: list[int]) -> None:
        size = 0
        try:
            with _gzip_reader(source) as stream:
                while chunk := stream.read(1 << 20):
                    size += len(chunk)
                    if size > self.limits.decompressed_bytes:
                        raise self._refuse_size()
                    _count_lines(chunk, lines)
                    self.handle.write(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            raise SampleError(f"The {self.label} file is not valid gzip ({exc}).") from exc

    def _open_parquet(self) -> None:
        self.file_format = "parquet"
        try:
            self._parquet = pq.ParquetFile(self.handle)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise SampleError(
                f"The {self.label} file is not a readable Parquet file ({exc})."
            ) from exc
        self._raw = list(self._parquet.schema_arrow.names)
        self.names = [str(n).strip() for n in self._raw]
        _check_names(self.names, self.label)
        self.rows = self._parquet.metadata.num_rows

    def _open_csv(self, head: bytes, lines: list[int]) -> None:
        self.file_format = "csv"
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = head[:-1].decode("utf-8-sig")  # a character cut at the edge
            except UnicodeDecodeError as exc:
                raise SampleError(
                    f"The {self.label} file is neither Parquet nor UTF-8 CSV (byte {exc.start} "
                    "cannot be decoded). Save it as UTF-8 CSV or Parquet."
                ) from exc
        if "\x00" in text:
            raise SampleError(
                f"The {self.label} file is neither Parquet nor UTF-8 CSV (binary data)."
            )
        self.delimiter = _delimiter(text)
        header = next(csv.reader(io.StringIO(text), delimiter=self.delimiter), [])
        self._raw = header
        self.names = [name.strip() for name in header]
        _check_names(self.names, self.label)
        if not self.names:
            raise SampleError(f"The {self.label} file has no header row.")
        newlines, last = lines
        self.rows = max(newlines + (last != 10) - 1, 0)  # lines after the header

    # --- reading ------------------------------------------------------------------------------

    def describe(self, sha256: str) -> Sample:
        return Sample(
            sha256=sha256,
            file_format=self.file_format,
            compressed=self.compressed,
            rows=self.rows,
            columns=len(self.names),
        )

    def head(self, nrows: int = PREVIEW_ROWS) -> pd.DataFrame:
        """The first ``nrows`` rows, all columns."""
        if self.file_format == "parquet":
            try:
                batch = next(self._parquet.iter_batches(batch_size=nrows), None)
                table = (
                    pa.Table.from_batches([batch])
                    if batch
                    else self._parquet.schema_arrow.empty_table()
                )
                frame = table.to_pandas()
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise self._unreadable(exc) from exc
        else:
            self.handle.seek(0)
            data = self.handle.read(PREVIEW_BYTES)
            if len(data) == PREVIEW_BYTES:
                data = data[: data.rfind(b"\n") + 1] or data
            frame = self._read_csv(io.BytesIO(data), nrows=nrows)
        return self._named(frame)

    def columns(self, names: list[str]) -> pd.DataFrame:
        """All rows of the columns ``names`` (as named after stripping)."""
        wanted = set(names)
        if self.file_format == "parquet":
            raw = [r for r, n in zip(self._raw, self.names, strict=True) if n in wanted]
            try:
                frame = self._parquet.read(columns=raw, use_threads=False).to_pandas()
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise self._unreadable(exc) from exc
        else:
            self.handle.seek(0)
            frame = self._read_csv(self.handle, usecols=lambda c: str(c).strip() in wanted)
        return self._named(frame)[names]

    def _read_csv(self, handle, **options) -> pd.DataFrame:
        try:
            # low_memory (the default) tokenises in chunks: only the wanted columns are kept.
            return pd.read_csv(handle, sep=self.delimiter, encoding="utf-8-sig", **options)
        except pd.errors.EmptyDataError as exc:
            raise SampleError(f"The {self.label} file has no header row.") from exc
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise SampleError(f"The {self.label} file cannot be read as CSV ({exc}).") from exc

    def _unreadable(self, exc: Exception) -> SampleError:
        return SampleError(f"The {self.label} file is not a readable Parquet file ({exc}).")

    def _named(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame.columns = [str(c).strip() for c in frame.columns]
        _check_names(list(frame.columns), self.label)
        return frame


def _size(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n:,} bytes"


@contextlib.contextmanager
def _gzip_reader(source: BinaryIO):
    with gzip.GzipFile(fileobj=source, mode="rb") as stream:
        yield stream


def preview(
    source: BinaryIO, *, label: str, limits: Limits, nrows: int = PREVIEW_ROWS
) -> tuple[Sample, pd.DataFrame]:
    """The sample's description and its first ``nrows`` rows, checked against the limits."""
    sha256 = sha256_of(source)
    with SampleFile(source, label=label, limits=limits) as sample:
        frame = sample.head(nrows)
        if frame.empty:
            raise SampleError(f"The {label} file has a header but no rows.")
        return sample.describe(sha256), frame


def common_columns(reference: list[str], current: list[str]) -> list[str]:
    """The column names both samples have, in the current sample's order."""
    names = [c for c in current if c in set(reference)]
    if not names:
        raise SampleError(
            "The reference and current files have no column in common "
            f"(reference: {', '.join(map(str, reference[:10]))}; "
            f"current: {', '.join(map(str, current[:10]))})."
        )
    return names


def _delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _check_names(names: list[str], label: str) -> None:
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SampleError(f"The {label} file repeats the column(s) {', '.join(duplicated)}.")
    if any(not n for n in names):
        raise SampleError(f"The {label} file has a column without a name.")


def shared_columns(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """Columns both samples have, in the current sample's order; refuses samples without
    any, and columns holding numbers in one sample and text in the other."""
    names = [c for c in current.columns if c in set(reference.columns)]
    if not names:
        raise SampleError(
            "The reference and current files have no column in common "
            f"(reference: {', '.join(map(str, reference.columns[:10]))}; "
            f"current: {', '.join(map(str, current.columns[:10]))})."
        )
    for name in names:
        numeric = {
            pd.api.types.is_numeric_dtype(frame[name].dtype)
            and not pd.api.types.is_bool_dtype(frame[name].dtype)
            for frame in (reference, current)
            if frame[name].notna().any()
        }
        if len(numeric) > 1:
            raise SampleError(
                f"Column {name!r} holds numbers in one file and text in the other; "
                "use the same type in both."
            )
    return names


def testable_columns(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """The shared columns drift can test (not dates, not empty); refuses samples without any."""
    names = [n for n in shared_columns(reference, current) if infer_kind(current[n]) is not None]
    if not names:
        raise SampleError(
            "None of the shared columns holds numbers or categories that can be tested "
            "(dates and empty columns are skipped)."
        )
    return names


def metric_part(column: str) -> str:
    """A column name as a metric-name part: lowercase ASCII letters and digits separated by
    single underscores (``Postcode Area`` → ``postcode_area``)."""
    text = unicodedata.normalize("NFKD", column)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    out, gap = [], False
    for ch in text:
        if "a" <= ch <= "z" or "0" <= ch <= "9":
            if gap and out:
                out.append("_")
            out.append(ch)
            gap = False
        else:
            gap = True
    return "".join(out)[:METRIC_PART_MAX].rstrip("_")


def metric_parts(columns: list[str]) -> dict[str, str]:
    """Column → metric-name part; refuses columns that normalise to nothing or to the same
    part as another column."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column in columns:
        part = metric_part(column)
        if not part:
            raise SampleError(
                f"Column {column!r} has no letter or digit to name its drift metrics; rename it."
            )
        if part in seen:
            raise SampleError(
                f"Columns {seen[part]!r} and {column!r} both give the metric name "
                f"drift.psi.{part}; rename one of them."
            )
        seen[part] = column
        mapping[column] = part
    return mapping
