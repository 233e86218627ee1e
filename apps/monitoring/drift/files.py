"""Reading the reference and current samples of a drift run: CSV (comma, semicolon, tab or
pipe separated, UTF-8), Parquet, either gzip-compressed. Pure: bytes in, a DataFrame out,
``SampleError`` with a message a person can act on otherwise."""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from apps.monitoring.compression import GZIP_MAGIC, GzipCorrupt, GzipTooLarge, gunzip_capped
from apps.monitoring.drift.stats import infer_kind

PARQUET_MAGIC = b"PAR1"
DELIMITERS = ",;\t|"
#: Rows read when an upload is checked before it is queued.
PREVIEW_ROWS = 1000
METRIC_PART_MAX = 88  # MetricDefinition.name holds 100 characters; "drift.score." takes 12


class SampleError(ValueError):
    """A sample file cannot be used; the message says why."""


@dataclass(frozen=True)
class Sample:
    data: bytes  # as uploaded (possibly gzip-compressed)
    sha256: str
    file_format: str  # "csv" or "parquet"
    compressed: bool


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decompress(data: bytes, max_bytes: int, label: str) -> bytes:
    try:
        return gunzip_capped(data, max_bytes=max_bytes)
    except GzipTooLarge:
        raise SampleError(
            f"The {label} file is larger than {max_bytes // (1024 * 1024)} MB once decompressed."
        ) from None
    except GzipCorrupt as exc:
        raise SampleError(f"The {label} file is not valid gzip ({exc}).") from exc


def _open(data: bytes, *, label: str, max_bytes: int) -> tuple[Sample, bytes]:
    """Check size and format; the sample's description and its uncompressed bytes."""
    if not data:
        raise SampleError(f"The {label} file is empty.")
    if len(data) > max_bytes:
        raise SampleError(
            f"The {label} file is {len(data) / (1024 * 1024):.1f} MB; the limit is "
            f"{max_bytes // (1024 * 1024)} MB."
        )
    compressed = data[:2] == GZIP_MAGIC
    plain = _decompress(data, max_bytes, label) if compressed else data
    file_format = "parquet" if plain[:4] == PARQUET_MAGIC else "csv"
    sample = Sample(
        data=data, sha256=sha256_of(data), file_format=file_format, compressed=compressed
    )
    return sample, plain


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


def read(data: bytes, *, label: str, max_bytes: int, nrows: int | None = None) -> pd.DataFrame:
    """The sample as a frame (its first ``nrows`` rows when given)."""
    return preview(data, label=label, max_bytes=max_bytes, nrows=nrows)[1]


def preview(
    data: bytes, *, label: str, max_bytes: int, nrows: int | None = PREVIEW_ROWS
) -> tuple[Sample, pd.DataFrame]:
    """The sample's description and its first ``nrows`` rows (all of them for None)."""
    sample, plain = _open(data, label=label, max_bytes=max_bytes)
    if sample.file_format == "parquet":
        try:
            table = pq.ParquetFile(io.BytesIO(plain))
            if nrows is not None:
                batch = next(table.iter_batches(batch_size=nrows), None)
                frame = (
                    pa.Table.from_batches([batch]) if batch else table.schema_arrow.empty_table()
                ).to_pandas()
            else:
                frame = table.read().to_pandas()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise SampleError(f"The {label} file is not a readable Parquet file ({exc}).") from exc
    else:
        try:
            head = plain[:65536].decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                head = plain[:65535].decode("utf-8-sig")  # a character cut at the edge
            except UnicodeDecodeError as exc:
                raise SampleError(
                    f"The {label} file is neither Parquet nor UTF-8 CSV (byte {exc.start} "
                    "cannot be decoded). Save it as UTF-8 CSV or Parquet."
                ) from exc
        if "\x00" in head:
            raise SampleError(f"The {label} file is neither Parquet nor UTF-8 CSV (binary data).")
        delimiter = _delimiter(head)
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter), [])
        _check_names([name.strip() for name in header], label)
        try:
            frame = pd.read_csv(
                io.BytesIO(plain),
                sep=delimiter,
                encoding="utf-8-sig",
                nrows=nrows,
                low_memory=False,
            )
        except pd.errors.EmptyDataError as exc:
            raise SampleError(f"The {label} file has no header row.") from exc
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise SampleError(f"The {label} file cannot be read as CSV ({exc}).") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_names(list(frame.columns), label)
    if frame.empty:
        raise SampleError(f"The {label} file has a header but no rows.")
    return sample, frame


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
