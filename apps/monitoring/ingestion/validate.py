"""Validating parsed metric rows, vectorised. Pure: no ORM, no settings.

``validate`` checks one ``ParsedFile``: a whole small file, or one chunk of a large one (the
service validates chunk by chunk; repeats of a row of an earlier chunk are found by the
loader's staging step).

The service passes in what the database knows as plain mappings (``Lookups``): the models
the pusher may push to (a model they may not push to is simply absent, so it reads exactly
like a model that does not exist), those models' versions and the defined metrics. Every
check works on whole columns; lookups run once per distinct value, not once per row.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from apps.monitoring.ingestion.parse import TEXT_COLUMNS, ParsedFile, RowError, preview

#: The same rule as ``apps.monitoring.models.segment_validator`` (a test keeps them equal).
SEGMENT_PATTERN = r"^[A-Za-z0-9]+(?:[._:=/-][A-Za-z0-9]+)*$"
SEGMENT_MAX_LENGTH = 100
#: A time of day followed by a zone: Z or an offset such as +01:00, +0100 or -05.
ZONE_PATTERN = r"[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")
COLUMN_ORDER = {
    name: i
    for i, name in enumerate(("", "model", "version", "metric", "value", "timestamp", "segment"))
}

TIMESTAMP_EXAMPLE = "e.g. 2025-01-31T12:00:00Z or 2025-01-31T13:00:00+01:00"


@dataclass(frozen=True)
class Lookups:
    """What the database knows, for the names in one file.

    ``models`` maps slug → id of the models the pusher may push to (and, for a batch scoped
    to one model, only that model); ``versions`` maps (model id, version string) → version
    id; ``metrics`` maps metric name → id; ``scope`` is the scope model's slug, if any.
    """

    models: Mapping[str, int]
    versions: Mapping[tuple[int, str], int]
    metrics: Mapping[str, int]
    scope: str | None = None


@dataclass
class ValidationResult:
    """The valid rows as a loader frame (see loader.FRAME_COLUMNS) and the rejected ones."""

    frame: pd.DataFrame
    rows_total: int
    rows_rejected: int
    errors: list[RowError] = field(default_factory=list)
    #: Positions of the valid rows in the parsed chunk (``frame``'s rows, in order).
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    parsed: ParsedFile | None = None

    def row_numbers(self) -> np.ndarray:
        """The file's row numbers of the valid rows (worked out only when asked: a straight
        load does not need them)."""
        if self.parsed is None:
            return self.positions + 1
        return self.parsed.row_numbers(self.positions)

    @property
    def rows_valid(self) -> int:
        return len(self.frame)


def _clean(series: pd.Series) -> pd.Series:
    return series.astype("str").str.strip()


def _arrow(text: pd.Series) -> pa.Array:
    """The text column as an Arrow string array (zero-copy for Arrow-backed strings)."""
    return pa.array(text.array, type=pa.large_string()).cast(pa.string())


def distinct_names(parsed: ParsedFile) -> tuple[set[str], set[str], set[str]]:
    """The distinct model slugs, version strings and metric names a file mentions, so the
    service can fetch only the lookups it needs."""
    frame = parsed.frame
    return tuple(set(pd.unique(_clean(frame[c]))) - {""} for c in ("model", "version", "metric"))


class _Collector:
    """Collects the rejected rows' masks and the first ``limit`` reasons per check."""

    def __init__(self, n: int, limit: int):
        self.bad = np.zeros(n, dtype=bool)
        self.limit = limit
        self.found: list[tuple[int, int, str, str]] = []  # (position, column order, value, reason)

    def flag(
        self,
        mask: np.ndarray,
        column: str,
        values: pd.Series,
        reason: str | Callable[[np.ndarray], list[str]],
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.bad |= mask
        positions = np.flatnonzero(mask)[: self.limit]
        reasons = reason(positions) if callable(reason) else [reason] * len(positions)
        shown = values.iloc[positions].tolist()
        order = COLUMN_ORDER.get(column, 99)
        self.found.extend(
            (int(p), order, preview(v), r)
            for p, v, r in zip(positions, shown, reasons, strict=True)
        )


def _resolve(
    collector: _Collector,
    column: str,
    keys,
    resolve: Callable[[object], tuple[int | None, str | None]],
    shown: pd.Series,
) -> np.ndarray:
    """Ids of ``keys`` through ``resolve`` (called once per distinct key), -1 where none;
    rows whose key resolves to a reason are flagged with it (showing ``shown``)."""
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    ids = np.full(len(uniques), -1, dtype=np.int64)
    reasons = np.full(len(uniques), None, dtype=object)
    for i, key in enumerate(uniques):
        found, reasons[i] = resolve(key)
        if found is not None:
            ids[i] = found
    has_reason = np.asarray([r is not None for r in reasons], dtype=bool)
    collector.flag(has_reason[codes], column, shown, lambda pos: [reasons[codes[p]] for p in pos])
    return ids[codes]


def _check_names(collector: _Collector, text: dict[str, pd.Series], lookups: Lookups):
    def model(slug: str):
        if not slug:
            return None, "Missing model."
        if lookups.scope and slug != lookups.scope:
            return None, f"This batch is for model {lookups.scope!r} only."
        found = lookups.models.get(slug)
        return found, None if found is not None else (
            "Unknown model, or one you may not push metrics to."
        )

    model_ids = _resolve(collector, "model", text["model"], model, text["model"])

    # A version belongs to a model: resolve each distinct (model, version) pair once.
    version_codes, version_names = pd.factorize(text["version"], use_na_sentinel=False)
    width = max(len(version_names), 1)

    def version(pair):
        model_id, code = divmod(int(pair), width)
        if model_id < 0:
            return None, None  # the model is reported already
        name = version_names[code]
        if not name:
            return None, "Missing version."
        found = lookups.versions.get((model_id, name))
        return found, None if found is not None else "Unknown version of this model."

    # Rows without a known model get a negative pair and no version error of their own.
    pairs = np.where(model_ids >= 0, model_ids * width + version_codes, -1)
    version_ids = _resolve(collector, "version", pairs, version, text["version"])

    def metric(name: str):
        if not name:
            return None, "Missing metric."
        found = lookups.metrics.get(name)
        return found, None if found is not None else (
            "Unknown metric; metrics are defined by validators and administrators."
        )

    metric_ids = _resolve(collector, "metric", text["metric"], metric, text["metric"])
    return version_ids, metric_ids


def _numbers(collector: _Collector, raw: pd.Series) -> np.ndarray:
    if pd.api.types.is_float_dtype(raw.dtype):
        values = raw.to_numpy(dtype="float64")
        collector.flag(np.isnan(values), "value", raw, "Missing value (or NaN).")
        collector.flag(np.isinf(values), "value", raw, "Infinite values are not allowed.")
        return values
    text = _clean(raw)
    try:
        values = pc.cast(_arrow(text), pa.float64())
        values = values.to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
    missing = (text == "").to_numpy()
    nan = np.isnan(values) & ~missing
    literal = np.zeros(len(values), dtype=bool)
    if nan.any():
        literal[nan] = text[nan].str.lower().str.lstrip("+-").isin(["nan"]).to_numpy()
    collector.flag(missing, "value", raw, "Missing value.")
    collector.flag(nan & literal, "value", raw, "NaN is not allowed; leave the row out instead.")
    collector.flag(nan & ~literal, "value", raw, "Not a number.")
    collector.flag(np.isinf(values), "value", raw, "Infinite values are not allowed.")
    return values


def _parse_times(uniques: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """UTC times of distinct timestamp strings, and a reason (or None) for each."""
    reasons = np.full(len(uniques), None, dtype=object)
    try:  # fast path: every string is ISO 8601 with a zone
        fast = pc.cast(_arrow(uniques), pa.timestamp("us", tz="UTC"))
        return pd.Series(fast.to_pandas(), dtype="datetime64[us, UTC]"), reasons
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    parsed = pd.to_datetime(uniques, format="ISO8601", utc=True, errors="coerce")
    parsed = pd.Series(parsed, dtype="datetime64[us, UTC]")
    zoned = uniques.str.contains(ZONE_PATTERN, regex=True).to_numpy(dtype=bool)
    empty = (uniques == "").to_numpy()
    unparsed = parsed.isna().to_numpy()
    reasons[~zoned] = f"No time zone: add Z or an offset ({TIMESTAMP_EXAMPLE})."
    reasons[unparsed] = f"Not an ISO 8601 timestamp ({TIMESTAMP_EXAMPLE})."
    reasons[empty] = "Missing timestamp."
    parsed[~zoned | unparsed] = pd.NaT
    return parsed, reasons


def _times(collector: _Collector, raw: pd.Series, *, latest: pd.Timestamp, minutes: int):
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        times = raw.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    else:
        text = _clean(raw)
        codes, uniques = pd.factorize(text, use_na_sentinel=False)
        parsed, reasons = _parse_times(pd.Series(uniques, dtype="str"))
        has_reason = np.asarray([r is not None for r in reasons], dtype=bool)
        if has_reason.any():
            collector.flag(
                has_reason[codes], "timestamp", raw, lambda pos: [reasons[codes[p]] for p in pos]
            )
        times = pd.Series(parsed.array.take(codes), index=raw.index)
    valid = times.notna().to_numpy()
    future = valid & (times > latest).to_numpy()
    past = valid & (times < EARLIEST).to_numpy()
    collector.flag(future, "timestamp", raw, f"More than {minutes} minutes in the future.")
    collector.flag(past, "timestamp", raw, "Before 1900.")
    return times.where(~(future | past))


def _segments(collector: _Collector, text: pd.Series) -> pd.Series:
    raw = text
    nonempty = (text != "").to_numpy()
    if not nonempty.any():
        return text
    too_long = (text.str.len() > SEGMENT_MAX_LENGTH).to_numpy()
    matches = text.str.fullmatch(SEGMENT_PATTERN).to_numpy(dtype=bool)
    formula = text.str.match(r"^[=+\-@]").to_numpy(dtype=bool)
    wrong = nonempty & ~too_long & ~matches
    collector.flag(too_long, "segment", raw, f"Longer than {SEGMENT_MAX_LENGTH} characters.")
    collector.flag(
        wrong & formula,
        "segment",
        raw,
        "Looks like a spreadsheet formula; a segment is a plain name such as region=eu.",
    )
    collector.flag(
        wrong & ~formula,
        "segment",
        raw,
        "Use letters, digits and single . _ : = / - separators, e.g. region=eu.",
    )
    return text


def _duplicates(
    collector: _Collector, parsed: ParsedFile, keys: pd.DataFrame, raw: pd.Series
) -> None:
    """Flag later repeats of a (version, metric, segment, time) among otherwise valid rows."""
    candidates = keys[~collector.bad]
    repeated = candidates.duplicated(keep="first")
    if not repeated.any():
        return
    groups = candidates.groupby(list(candidates.columns), sort=False).ngroup().to_numpy()
    _, first_index = np.unique(groups, return_index=True)
    first_position = candidates.index.to_numpy()[first_index]
    by_group = dict(zip(np.unique(groups), first_position, strict=True))
    mask = np.zeros(len(keys), dtype=bool)
    mask[candidates.index.to_numpy()[repeated.to_numpy()]] = True
    group_of = pd.Series(groups, index=candidates.index)

    def reasons(positions: np.ndarray) -> list[str]:
        firsts = [by_group[group_of[p]] for p in positions]
        rows = parsed.row_numbers(np.asarray(firsts, dtype=np.int64))
        return [
            f"Same model, version, metric, segment and timestamp as row {int(r)}." for r in rows
        ]

    collector.flag(mask, "timestamp", raw, reasons)


def validate(
    parsed: ParsedFile,
    *,
    lookups: Lookups,
    now: datetime.datetime,
    max_future_minutes: int,
    max_errors: int,
) -> ValidationResult:
    """Check every row of ``parsed``; return the valid rows and the first ``max_errors``
    reasons (all rejected rows are counted)."""
    frame = parsed.frame.reset_index(drop=True)
    n = len(frame)
    collector = _Collector(n, max_errors)
    text = {c: _clean(frame[c]) for c in TEXT_COLUMNS}
    version_ids, metric_ids = _check_names(collector, text, lookups)
    values = _numbers(collector, frame["value"])
    latest = pd.Timestamp(now).tz_convert("UTC") + pd.Timedelta(minutes=max_future_minutes)
    times = _times(collector, frame["timestamp"], latest=latest, minutes=max_future_minutes)
    segments = _segments(collector, text["segment"])

    segment_codes = pd.factorize(segments, use_na_sentinel=False)[0]
    keys = pd.DataFrame(
        {
            "version_id": version_ids,
            "metric_id": metric_ids,
            "segment": segment_codes,
            "timestamp": times.to_numpy(dtype="datetime64[us]").view("int64"),
        }
    )
    _duplicates(collector, parsed, keys, frame["timestamp"])

    good = ~collector.bad
    valid = pd.DataFrame(
        {
            "version_id": version_ids[good],
            "metric_id": metric_ids[good],
            "segment": segments[good].to_numpy(dtype=object),
            "timestamp": times[good].astype("datetime64[ns, UTC]").reset_index(drop=True),
            "value": values[good],
        }
    )
    valid["segment"] = valid["segment"].astype(object)  # the loader's frame contract

    found = sorted(collector.found)[: max_errors * 2]
    numbers = parsed.row_numbers(np.asarray([p for p, *_ in found], dtype=np.int64))
    errors = [
        RowError(int(row), _column_name(order), value, reason)
        for row, (_, order, value, reason) in zip(numbers, found, strict=True)
    ]
    errors = sorted(errors + parsed.errors, key=lambda e: (e.row, COLUMN_ORDER.get(e.column, 99)))
    return ValidationResult(
        frame=valid,
        rows_total=parsed.rows_total,
        rows_rejected=int(collector.bad.sum()) + parsed.unreadable_rows,
        errors=errors[:max_errors],
        positions=np.flatnonzero(good),
        parsed=parsed,
    )


def _column_name(order: int) -> str:
    for name, i in COLUMN_ORDER.items():
        if i == order:
            return name
    return ""
