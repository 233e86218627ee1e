"""Drift statistics checked against direct scipy computations on known data (no database)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial import distance

from apps.monitoring.drift import stats
from apps.monitoring.drift.stats import DriftError, column_drift, dataset_drift

RNG = np.random.default_rng(42)


def normal(n, loc=0.0, scale=1.0, seed=0):
    return np.random.default_rng(seed).normal(loc, scale, n)


def choice(values, n, p=None, seed=0):
    return np.random.default_rng(seed).choice(np.asarray(list(values), dtype=object), n, p=p)


# --- numeric columns --------------------------------------------------------------------------


def test_it_uses_the_ks_p_value_for_small_numeric_samples():
    ref, cur = normal(300, seed=1), normal(400, 0.4, seed=2)
    result = column_drift(ref, cur)
    assert (result.kind, result.method, result.threshold) == ("numeric", "ks", 0.05)
    assert result.score == pytest.approx(sps.ks_2samp(ref, cur).pvalue, rel=1e-12)
    assert result.drifted is (result.score <= 0.05)
    assert result.drifted


def test_it_uses_the_wasserstein_distance_normed_by_the_reference_std_for_large_samples():
    ref, cur = normal(5000, seed=3), normal(6000, 0.05, 1.1, seed=4)
    result = column_drift(ref, cur)
    expected = sps.wasserstein_distance(ref, cur) / np.std(ref, ddof=0)
    assert (result.method, result.threshold) == ("wasserstein", 0.1)
    assert result.score == pytest.approx(expected, rel=1e-12)
    assert result.drifted is False


def test_it_flags_wasserstein_drift_from_a_tenth_of_a_standard_deviation():
    ref = normal(3000, seed=5)
    assert column_drift(ref, ref + 0.1 * np.std(ref) + 1e-9).drifted
    assert not column_drift(ref, ref + 0.09 * np.std(ref)).drifted


def test_it_floors_the_wasserstein_norm_at_a_thousandth():
    ref = np.r_[np.zeros(1500), np.arange(6) * 1e-7]  # std ≈ 0
    cur = np.r_[np.zeros(1500), np.arange(6) * 2e-7]
    result = column_drift(ref, cur)
    assert result.method == "wasserstein"
    assert result.score == pytest.approx(sps.wasserstein_distance(ref, cur) / 0.001)


@pytest.mark.parametrize(("rows", "method"), [(1000, "ks"), (1001, "wasserstein")])
def test_it_switches_numeric_tests_after_1000_reference_rows(rows, method):
    assert column_drift(normal(rows, seed=6), normal(rows, seed=7)).method == method


@pytest.mark.parametrize(("rows", "method"), [(1000, "chisquare"), (1001, "jensenshannon")])
def test_it_switches_categorical_tests_after_1000_reference_rows(rows, method):
    ref, cur = choice("abc", rows, seed=1), choice("abc", 500, seed=2)
    assert column_drift(ref, cur).method == method


def test_it_treats_numbers_with_at_most_5_distinct_values_as_categories():
    five = np.tile([0.0, 0.5, 1.0, 1.5, 2.0], 100)
    six = np.tile([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], 100)
    assert column_drift(five, five[::-1]).method == "chisquare"
    assert column_drift(six, six[::-1]).method == "ks"
    # The count is over both samples: 5 reference values + 1 new current one = 6.
    assert column_drift(five, np.r_[five, 9.0]).method == "ks"
    assert column_drift(np.tile(five, 3), np.tile(five, 3)).method == "jensenshannon"


def test_it_counts_the_reference_rows_after_dropping_missing_values():
    ref = np.r_[normal(1000, seed=8), [np.nan] * 50, [np.inf, -np.inf]]
    result = column_drift(ref, normal(900, seed=9))
    assert result.method == "ks"  # 1000 usable rows, not 1052
    assert result.reference_rows == 1000
    clean = ref[np.isfinite(ref)]
    assert result.score == pytest.approx(sps.ks_2samp(clean, normal(900, seed=9)).pvalue)


def test_it_refuses_a_column_without_values():
    with pytest.raises(DriftError, match="'x' has no values in the current file"):
        column_drift(pd.Series([1.0, 2.0], name="x"), pd.Series([np.nan, np.nan], name="x"))
    with pytest.raises(DriftError, match="no values in the reference file"):
        column_drift(pd.Series([None, None], name="c"), pd.Series(["a", "b"], name="c"))


def test_it_refuses_numbers_against_text():
    with pytest.raises(DriftError, match="'age'"):
        column_drift(pd.Series(["a", "b"] * 10, name="age"), pd.Series(np.arange(20.0), name="age"))


# --- categorical columns ----------------------------------------------------------------------


def test_it_computes_chi_square_with_expected_counts_from_reference_proportions():
    ref = choice(["red", "green", "blue"], 600, p=[0.5, 0.3, 0.2], seed=10)
    cur = choice(["red", "green", "blue"], 400, p=[0.3, 0.3, 0.4], seed=11)
    result = column_drift(pd.Series(ref), pd.Series(cur))
    keys = ["blue", "green", "red"]
    ref_counts = np.array([(ref == k).sum() for k in keys])
    cur_counts = np.array([(cur == k).sum() for k in keys])
    expected = sps.chisquare(cur_counts, ref_counts / ref_counts.sum() * cur_counts.sum()).pvalue
    assert (result.kind, result.method) == ("categorical", "chisquare")
    assert result.score == pytest.approx(expected, rel=1e-9)
    assert result.drifted


def test_it_uses_a_two_proportion_z_test_for_binary_columns_of_small_samples():
    ref = choice(["no", "yes"], 800, p=[0.7, 0.3], seed=12)
    cur = choice(["no", "yes"], 500, p=[0.6, 0.4], seed=13)
    result = column_drift(pd.Series(ref), pd.Series(cur))
    p1, p2 = (ref == "yes").mean(), (cur == "yes").mean()
    pooled = (p1 * 800 + p2 * 500) / 1300
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 800 + 1 / 500))
    assert result.method == "z"
    assert result.score == pytest.approx(2 * (1 - sps.norm.cdf(abs(z))), rel=1e-9)


def test_it_gives_p_1_when_both_samples_hold_one_and_the_same_value():
    result = column_drift(pd.Series(["a"] * 10), pd.Series(["a"] * 20))
    assert (result.method, result.score, result.drifted) == ("z", 1.0, False)


def test_it_computes_the_jensen_shannon_distance_with_the_natural_logarithm():
    ref = choice(list("abcd"), 5000, p=[0.4, 0.3, 0.2, 0.1], seed=14)
    cur = choice(list("abcde"), 3000, p=[0.25, 0.25, 0.2, 0.2, 0.1], seed=15)
    result = column_drift(pd.Series(ref), pd.Series(cur))
    keys = list("abcde")
    p = np.array([(ref == k).sum() for k in keys]) / len(ref)
    q = np.array([(cur == k).sum() for k in keys]) / len(cur)
    assert result.method == "jensenshannon"
    assert result.score == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
    assert result.drifted is (result.score >= 0.1)


def test_it_drops_missing_categories():
    ref = pd.Series(["a", "b", None, "a"] * 400)
    cur = pd.Series(["a", None, "b", "b"] * 400)
    result = column_drift(ref, cur)
    assert (result.reference_rows, result.current_rows) == (1200, 1200)
    assert result.method == "jensenshannon"
    assert result.score == pytest.approx(distance.jensenshannon([2 / 3, 1 / 3], [1 / 3, 2 / 3]))


def test_it_infers_kinds_like_evidently():
    assert stats.infer_kind(pd.Series([1.0, 2.0])) == "numeric"
    assert stats.infer_kind(pd.Series(np.arange(11))) == "numeric"
    assert stats.infer_kind(pd.Series(np.arange(10))) == "categorical"
    assert stats.infer_kind(pd.Series(["a", "b"])) == "categorical"
    assert stats.infer_kind(pd.Series([True, False])) == "categorical"
    assert stats.infer_kind(pd.Series(pd.to_datetime(["2025-01-01"]))) is None


# --- PSI --------------------------------------------------------------------------------------


def test_it_computes_psi_per_category_by_hand():
    ref = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    cur = pd.Series(["a"] * 30 + ["b"] * 30 + ["c"] * 40)
    expected = (0.5 - 0.3) * math.log(0.5 / 0.3) + 0 + (0.2 - 0.4) * math.log(0.2 / 0.4)
    assert column_drift(ref, cur).psi == pytest.approx(expected, rel=1e-12)


def test_it_gives_empty_bins_a_share_of_0_0001_in_psi():
    ref = pd.Series(["a"] * 60 + ["b"] * 40)
    cur = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    expected = (
        (0.6 - 0.5) * math.log(0.6 / 0.5)
        + (0.4 - 0.3) * math.log(0.4 / 0.3)
        + (0.0001 - 0.2) * math.log(0.0001 / 0.2)
    )
    assert column_drift(ref, cur).psi == pytest.approx(expected, rel=1e-12)


def test_it_bins_psi_with_sturges_over_both_samples_above_20_distinct_values():
    ref, cur = normal(2000, seed=16), normal(1500, 0.3, seed=17)
    edges = np.histogram_bin_edges(np.r_[ref, cur], bins="sturges")
    r = np.histogram(ref, edges)[0] / len(ref)
    c = np.histogram(cur, edges)[0] / len(cur)
    r[r == 0], c[c == 0] = 0.0001, 0.0001
    expected = np.sum((r - c) * np.log(r / c))
    assert column_drift(ref, cur).psi == pytest.approx(expected, rel=1e-12)


def test_it_keeps_sturges_bins_of_integers_at_least_one_wide():
    # 1.2M values over 0..20: Sturges' width 20 / 21.2 < 1, so numpy makes 20 bins of 1.
    ref = np.random.default_rng(18).integers(0, 21, 600_000)
    cur = np.random.default_rng(19).integers(1, 21, 600_000)
    edges = np.histogram_bin_edges(np.r_[ref, cur], bins="sturges")
    assert len(edges) - 1 == 20
    assert len(np.histogram_bin_edges(np.r_[ref, cur].astype(float), bins="sturges")) - 1 == 22
    r, c = np.histogram(ref, edges)[0] / 600_000, np.histogram(cur, edges)[0] / 600_000
    assert c[0] == 0
    c[0] = 0.0001
    result = column_drift(ref, cur, kind="numeric")
    assert result.psi == pytest.approx(np.sum((r - c) * np.log(r / c)), rel=1e-12)


def test_it_counts_psi_per_value_up_to_20_distinct_reference_values():
    ref = np.tile(np.arange(20) / 2, 100)
    cur = np.tile(np.arange(1, 21) / 2, 100)
    r = np.r_[np.full(20, 0.05), 0.0001]
    c = np.r_[0.0001, np.full(20, 0.05)]
    result = column_drift(ref, cur)
    assert result.method == "wasserstein"
    assert result.psi == pytest.approx(np.sum((r - c) * np.log(r / c)), rel=1e-12)


# --- the dataset ------------------------------------------------------------------------------


def frames(drifted: int, total: int = 4, rows: int = 2000):
    ref = pd.DataFrame({f"c{i}": normal(rows, seed=i) for i in range(total)})
    cur = pd.DataFrame(
        {f"c{i}": normal(rows, 1.0 if i < drifted else 0.0, seed=100 + i) for i in range(total)}
    )
    return ref, cur


@pytest.mark.parametrize(("drifted", "dataset"), [(1, False), (2, True), (3, True)])
def test_it_calls_the_dataset_drifted_when_half_the_columns_drift(drifted, dataset):
    ref, cur = frames(drifted)
    result = dataset_drift(ref, cur)
    assert result.drifted_count == drifted
    assert result.share == drifted / 4
    assert result.drifted is dataset


def test_it_tests_the_shared_columns_and_skips_dates():
    ref, cur = frames(0)
    ref["only_ref"] = 1.0
    cur["when"] = pd.Timestamp("2025-01-01")
    ref["when"] = pd.Timestamp("2025-01-01")
    result = dataset_drift(ref, cur)
    assert [c.column for c in result.columns] == ["c0", "c1", "c2", "c3"]
    assert result.skipped == ["when"]


def test_it_gives_the_same_result_on_threads():
    ref, cur = frames(2, total=6)
    ref["cat"] = choice("abc", 2000, seed=1)
    cur["cat"] = choice("abc", 2000, seed=2)
    assert dataset_drift(ref, cur, workers=2) == dataset_drift(ref, cur)
