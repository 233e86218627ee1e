"""Per-column data drift with the defaults of Evidently's data-drift preset (0.7.x,
``evidently.legacy.calculations.stattests``), in vectorised numpy/scipy. Pure: no ORM.

How a column is tested (Evidently's ``_get_default_stattest``), with ``n`` the number of
distinct values of reference and current together and ``rows`` the reference's non-missing
rows:

================================  =====================  ============================
column                            rows ≤ 1000            rows > 1000
================================  =====================  ============================
numeric, n > 5                    KS p-value (p ≤ 0.05)  Wasserstein / std (≥ 0.1)
numeric n ≤ 5, or categorical     chi-square (p < 0.05)  Jensen–Shannon (≥ 0.1)
… of which n ≤ 2 (binary)         z-test (p < 0.05)      Jensen–Shannon (≥ 0.1)
================================  =====================  ============================

Evidently picks a two-proportion z-test, not chi-square, for binary columns of small
samples; we do the same so the values compare. Frequencies for chi-square, Jensen–Shannon
and PSI come from Evidently's ``get_binned_data``: a numeric column with more than 20
distinct reference values is cut into Sturges bins over reference and current together,
anything else is counted per value. PSI (always reported) replaces empty bins by 0.0001
(or by the smallest share / 10⁶ when a share is that small), as Evidently does.

Column kinds follow Evidently's ``infer_column_type`` on the current sample: floats are
numeric, integers numeric when they have more than 10 distinct values (else categorical),
strings, booleans and pandas categoricals are categorical. Evidently would treat a string
column with more distinct values than half its rows as text (drift by a trained
classifier); here it stays categorical. Date and other columns are not tested.

Missing and infinite values are dropped per column before testing; a column with no
values left is refused, as Evidently refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

NUMERIC = "numeric"
CATEGORICAL = "categorical"

KS = "ks"
WASSERSTEIN = "wasserstein"
CHISQUARE = "chisquare"
Z = "z"
JENSENSHANNON = "jensenshannon"

#: Default drift threshold of each test (Evidently's ``StatTest.default_threshold``).
THRESHOLDS = {KS: 0.05, CHISQUARE: 0.05, Z: 0.05, WASSERSTEIN: 0.1, JENSENSHANNON: 0.1}
#: Tests whose score is a p-value (drift when small); the others are distances.
P_VALUE_METHODS = frozenset({KS, CHISQUARE, Z})

SMALL_SAMPLE_ROWS = 1000  # reference rows up to which KS / chi-square / z are used
FEW_VALUES = 5  # numeric columns with at most this many distinct values count as categories
BINARY_VALUES = 2
BINNED_ABOVE = 20  # numeric columns with more distinct reference values are binned (Sturges)
INTEGER_CARDINALITY_LIMIT = 10  # integer columns with at most this many values are categorical
DATASET_DRIFT_SHARE = 0.5  # the dataset drifts when at least this share of columns drifts
EMPTY_BIN_SHARE = 0.0001
MIN_STD = 0.001  # Wasserstein norm floor


class DriftError(ValueError):
    """A column cannot be tested; the message names it."""


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool
    psi: float
    reference_rows: int = 0
    current_rows: int = 0


@dataclass(frozen=True)
class DatasetDrift:
    columns: list[ColumnDrift] = field(default_factory=list)
    share: float = 0.0
    drifted: bool = False
    skipped: list[str] = field(default_factory=list)

    @property
    def drifted_count(self) -> int:
        return sum(c.drifted for c in self.columns)


# --- column kinds -----------------------------------------------------------------------------


def infer_kind(values: pd.Series) -> str | None:
    """Evidently's ``infer_column_type`` reduced to what drift tests: numeric, categorical or
    None (dates, mixed objects, all-missing columns)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if pd.api.types.is_float_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_integer_dtype(dtype):
        return CATEGORICAL if values.nunique() <= INTEGER_CARDINALITY_LIMIT else NUMERIC
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_object_dtype(dtype):
        present = values.dropna()
        if len(present) and isinstance(present.iloc[0], str) and isinstance(present.iloc[-1], str):
            return CATEGORICAL
    return None


def _is_numeric(values: pd.Series) -> bool:
    dtype = values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _series(values, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    return pd.Series(np.asarray(values), name=name)


# --- the tests, on prepared frequencies or sorted samples -------------------------------------


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Evidently's ``feel_zeroes``: empty bins get 0.0001, or the smallest non-zero share
    / 10⁶ when that share is itself ≤ 0.0001."""
    shares = shares.copy()
    nonzero = shares[shares != 0]
    if len(nonzero) and (shares == 0).any():
        smallest = nonzero.min()
        shares[shares == 0] = smallest / 10**6 if smallest <= EMPTY_BIN_SHARE else EMPTY_BIN_SHARE
    return shares


def psi_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index of two frequency vectors over the same bins."""
    ref = _fill_zeroes(reference_counts / reference_counts.sum())
    cur = _fill_zeroes(current_counts / current_counts.sum())
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def jensenshannon_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen–Shannon distance (natural logarithm, as Evidently calls scipy: base None)."""
    ref = reference_counts / reference_counts.sum()
    cur = current_counts / current_counts.sum()
    return float(distance.jensenshannon(ref, cur))


def chisquare_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Chi-square p-value of current counts against the reference proportions scaled to the
    current sample size."""
    expected = reference_counts * (current_counts.sum() / reference_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.chisquare(current_counts, expected).pvalue)


def ztest_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Two-proportion z-test p-value (two-sided) of a binary column; ``counts[0]`` is the
    first value in sort order. One value shared by both samples gives p = 1."""
    if len(reference_counts) == 1:
        return 1.0
    n1 = int(reference_counts.sum())
    n2 = int(current_counts.sum())
    p1 = float(n1 - reference_counts[0]) / n1
    p2 = float(n2 - current_counts[0]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


#: Merged values handled at once by ``wasserstein_sorted`` (its temporary arrays are this long).
WASSERSTEIN_BLOCK = 1 << 18


def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """First Wasserstein distance of two SORTED samples: scipy's ``_cdf_distance`` without its
    two argsorts (merging two sorted runs is linear). The CDF differences are summed block by
    block, so beyond the merged values the memory used does not grow with the samples."""
    all_values = np.concatenate((u, v))
    all_values.sort(kind="mergesort")  # two sorted runs: merged in linear time
    total = 0.0
    last = len(all_values) - 1
    for start in range(0, last, WASSERSTEIN_BLOCK):
        stop = min(start + WASSERSTEIN_BLOCK, last)
        points = all_values[start:stop]
        deltas = np.diff(all_values[start : stop + 1])
        u_cdf = u.searchsorted(points, "right") / u.size
        v_cdf = v.searchsorted(points, "right") / v.size
        total += float(np.vecdot(np.abs(u_cdf - v_cdf), deltas))
    return total


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _count_sorted(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """How many of the sorted ``values`` equal each key."""
    return np.searchsorted(values, keys, "right") - np.searchsorted(values, keys, "left")


def _histogram_sorted(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` of sorted values (the last bin includes its right
    edge) by binary search instead of a pass over the data."""
    positions = np.searchsorted(values, edges, "left")
    positions[-1] = np.searchsorted(values, edges[-1], "right")
    return np.diff(positions)


def _verdict(method: str, score: float) -> bool:
    threshold = THRESHOLDS[method]
    if method == KS:
        return score <= threshold
    if method in P_VALUE_METHODS:
        return score < threshold
    return score >= threshold


def _categorical_method(rows: int, n_values: int) -> str:
    if rows <= SMALL_SAMPLE_ROWS:
        return CHISQUARE if n_values > BINARY_VALUES else Z
    return JENSENSHANNON


def _score_counts(method: str, ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    if method == CHISQUARE:
        return chisquare_from_counts(ref_counts, cur_counts)
    if method == Z:
        return ztest_from_counts(ref_counts, cur_counts)
    return jensenshannon_from_counts(ref_counts, cur_counts)


# --- one column -------------------------------------------------------------------------------


def _result(
    column: str, kind: str, method: str, score: float, ref_bins: np.ndarray, cur_bins: np.ndarray
) -> ColumnDrift:
    """The column's verdict; ``*_bins`` are the PSI frequencies (they count every value)."""
    return ColumnDrift(
        column=column,
        kind=kind,
        method=method,
        score=score,
        threshold=THRESHOLDS[method],
        drifted=_verdict(method, score),
        psi=psi_from_counts(ref_bins, cur_bins),
        reference_rows=int(ref_bins.sum()),
        current_rows=int(cur_bins.sum()),
    )


def _numeric_values(values: pd.Series, column: str, side: str) -> np.ndarray:
    """Finite values as a sorted array; integers stay integers (Sturges bins of integers are
    at least 1 wide, as numpy decides)."""
    if not _is_numeric(values):
        raise DriftError(f"Column {column!r} is numeric in one file but not in the {side} file.")
    if pd.api.types.is_integer_dtype(values.dtype):
        array = np.sort(values.dropna().to_numpy(dtype=np.int64))
    else:
        array = values.to_numpy(dtype=np.float64, na_value=np.nan)
        array = array[np.isfinite(array)]  # a copy: sorted in place (no second copy)
        array.sort()
    if not len(array):
        raise DriftError(f"Column {column!r} has no values in the {side} file.")
    return array


def _numeric_drift(column: str, reference: pd.Series, current: pd.Series) -> ColumnDrift:
    ref = _numeric_values(reference, column, "reference")
    cur = _numeric_values(current, column, "current")
    ref_keys = _distinct_sorted(ref)
    cur_keys = _distinct_sorted(cur) if len(ref_keys) <= FEW_VALUES else None
    keys = np.union1d(ref_keys, cur_keys) if cur_keys is not None else None
    few = keys is not None and len(keys) <= FEW_VALUES
    if len(ref_keys) > BINNED_ABOVE:
        edges = np.histogram_bin_edges(np.concatenate((ref, cur)), bins="sturges")
        ref_bins, cur_bins = _histogram_sorted(ref, edges), _histogram_sorted(cur, edges)
    else:
        if keys is None:
            keys = np.union1d(ref_keys, _distinct_sorted(cur))
        ref_bins, cur_bins = _count_sorted(ref, keys), _count_sorted(cur, keys)
    del ref_keys, cur_keys  # up to a copy of each sample: not held through the test below
    if few:
        method = _categorical_method(len(ref), len(keys))
        score = _score_counts(method, ref_bins, cur_bins)
    elif len(ref) <= SMALL_SAMPLE_ROWS:
        method = KS
        score = float(stats.ks_2samp(ref, cur).pvalue)
    else:
        method = WASSERSTEIN
        norm = max(float(np.std(ref)), MIN_STD)
        score = (
            wasserstein_sorted(
                ref.astype(np.float64, copy=False), cur.astype(np.float64, copy=False)
            )
            / norm
        )
    return _result(column, NUMERIC, method, score, ref_bins, cur_bins)


def _category_codes(
    reference: pd.Series, current: pd.Series
) -> tuple[np.ndarray, np.ndarray, list]:
    """Integer codes of both samples over their shared categories (missing values → -1)."""
    if isinstance(reference.dtype, pd.CategoricalDtype) or isinstance(
        current.dtype, pd.CategoricalDtype
    ):
        reference = reference.astype(object)
        current = current.astype(object)
    both = pd.concat([reference, current], ignore_index=True)
    if pd.api.types.is_float_dtype(both.dtype):
        both = both.where(np.isfinite(both))
    codes, uniques = pd.factorize(both)
    return codes[: len(reference)], codes[len(reference) :], list(uniques)


def _sort_order(uniques: list) -> np.ndarray:
    """Positions of the categories in sort order (the z-test counts the first one)."""
    try:
        ordered = sorted(range(len(uniques)), key=lambda i: uniques[i])
    except TypeError:
        ordered = sorted(range(len(uniques)), key=lambda i: str(uniques[i]))
    return np.asarray(ordered, dtype=np.intp)


def _categorical_drift(column: str, reference: pd.Series, current: pd.Series) -> ColumnDrift:
    if _is_numeric(reference) != _is_numeric(current):
        raise DriftError(
            f"Column {column!r} holds numbers in one file and text in the other; "
            "use the same type in both."
        )
    ref_codes, cur_codes, uniques = _category_codes(reference, current)
    size = len(uniques)
    ref_counts = np.bincount(ref_codes[ref_codes >= 0], minlength=size)
    cur_counts = np.bincount(cur_codes[cur_codes >= 0], minlength=size)
    for side, counts in (("reference", ref_counts), ("current", cur_counts)):
        if not counts.sum():
            raise DriftError(f"Column {column!r} has no values in the {side} file.")
    order = _sort_order(uniques)
    ref_counts, cur_counts = ref_counts[order], cur_counts[order]
    rows = int(ref_counts.sum())
    method = _categorical_method(rows, size)
    score = _score_counts(method, ref_counts, cur_counts)
    return _result(column, CATEGORICAL, method, score, ref_counts, cur_counts)


def column_drift(
    reference: pd.Series | np.ndarray,
    current: pd.Series | np.ndarray,
    *,
    kind: str | None = None,
    column: str | None = None,
) -> ColumnDrift:
    """Drift of one column between a reference and a current sample.

    ``kind`` (numeric / categorical) defaults to what Evidently infers from the current
    sample. Raises ``DriftError`` for a column that cannot be tested.
    """
    name = column or str(getattr(reference, "name", None) or getattr(current, "name", "") or "")
    reference = _series(reference, name)
    current = _series(current, name)
    kind = kind or infer_kind(current)
    if kind == NUMERIC:
        return _numeric_drift(name, reference, current)
    if kind == CATEGORICAL:
        return _categorical_drift(name, reference, current)
    raise DriftError(f"Column {name!r} is neither numeric nor categorical.")


def dataset_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: list[str] | None = None,
    *,
    kinds: dict[str, str] | None = None,
    drift_share: float = DATASET_DRIFT_SHARE,
    workers: int = 1,
) -> DatasetDrift:
    """Drift of every shared column (or of ``columns``) and of the dataset: it drifts when
    the share of drifted columns reaches ``drift_share`` (Evidently's 0.5).

    Columns whose kind cannot be tested (dates, mixed objects, all missing) are listed in
    ``skipped``, as Evidently's preset leaves them out. ``workers`` > 1 tests columns on
    threads (numpy sorts and pandas factorisation release the GIL).
    """
    kinds = dict(kinds or {})
    names = list(columns) if columns is not None else [c for c in current if c in reference]
    for name in names:
        for frame, side in ((reference, "reference"), (current, "current")):
            if name not in frame:
                raise DriftError(f"Column {name!r} is missing from the {side} file.")
    skipped = []
    tested = []
    for name in names:
        kind = kinds.get(name) or infer_kind(current[name])
        if kind is None:
            skipped.append(str(name))
            continue
        kinds[name] = kind
        tested.append(name)

    def one(name) -> ColumnDrift:
        return column_drift(reference[name], current[name], kind=kinds[name], column=str(name))

    if workers > 1 and len(tested) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, tested))
    else:
        results = [one(name) for name in tested]
    return combine(results, skipped, drift_share=drift_share)


def combine(
    results: list[ColumnDrift], skipped: list[str], *, drift_share: float = DATASET_DRIFT_SHARE
) -> DatasetDrift:
    """The dataset's drift from its columns' (tested a few columns at a time, or at once)."""
    drifted = sum(r.drifted for r in results)
    share = drifted / len(results) if results else 0.0
    return DatasetDrift(
        columns=list(results),
        share=share,
        drifted=bool(results) and share >= drift_share,
        skipped=list(skipped),
    )
