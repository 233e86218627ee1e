"""apps/monitoring/charts.py: downsampling, ticks, scales, bands and markers (no database)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from apps.monitoring import charts

END = datetime(2026, 3, 31, 12, tzinfo=UTC)


# --- downsampling ----------------------------------------------------------------------------


def test_lttb_keeps_the_first_and_last_points_and_both_extremes():
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 3000)
    y[12_345], y[87_654] = 9.0, -9.0
    keep = charts.lttb(x, y, 600)
    assert len(keep) == 600
    assert keep[0] == 0 and keep[-1] == 99_999
    assert 12_345 in keep and 87_654 in keep
    assert np.all(np.diff(keep) > 0)


def test_lttb_pins_an_extreme_its_triangles_would_miss():
    # A flat series with a slight global minimum: no triangle favours it, the pin keeps it.
    y = np.ones(1000)
    y[500] = 0.999
    keep = charts.lttb(np.arange(1000.0), y, 50)
    assert 500 in keep and len(keep) == 50


def test_lttb_leaves_short_series_alone():
    x = np.arange(10.0)
    assert list(charts.lttb(x, x, 600)) == list(range(10))
    assert list(charts.lttb(x, x, 2)) == list(range(10))


def test_lttb_follows_the_shape_of_a_line():
    x = np.linspace(0, 1, 10_000)
    y = 3 * x + 1
    px, py = charts.downsample(x, y, 100)
    assert len(px) == 100
    assert np.allclose(py, 3 * px + 1)


def test_buckets_expand_to_one_point_or_their_low_and_high():
    x, y = charts.expand_buckets(
        t_first=[0, 10, 20], t_last=[0, 15, 25], low=[1, 2, 0], high=[1, 5, 3]
    )
    # bucket 1 rises from bucket 0 (low then high); bucket 2 falls (high then low).
    assert list(x) == [0, 10, 15, 20, 25]
    assert list(y) == [1, 2, 5, 3, 0]
    assert charts.expand_buckets([], [], [], []) == (pytest.approx([]), pytest.approx([]))


def test_series_points_keep_a_spike_of_a_bucketed_million_points():
    rng = np.random.default_rng(1)
    t = np.arange(1_000_000, dtype=float)
    v = rng.normal(0.8, 0.01, t.size)
    v[400_001] = 0.05
    width = charts.bucket_width(0, 1_000_000, 500)
    bucket = (t // width).astype(int)
    edges = np.flatnonzero(np.diff(bucket)) + 1
    starts = np.concatenate(([0], edges))
    low = np.minimum.reduceat(v, starts)
    high = np.maximum.reduceat(v, starts)
    t_first, t_last = t[starts], np.concatenate((t[edges - 1], [t[-1]]))
    x, y = charts.series_points(t_first, t_last, low, high, max_points=600)
    assert len(x) <= 600 and y.min() == 0.05
    assert x[0] == 0 and x[-1] == 999_999


def test_bucket_width_splits_the_range_and_is_at_least_a_second():
    assert charts.bucket_width(0, 1000, 10) == 100
    assert charts.bucket_width(0, 10, 500) == 1.0


# --- ticks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0.613, 0.871, [0.6, 0.7, 0.8, 0.9]),
        (1200, 5400, [1000, 2000, 3000, 4000, 5000, 6000]),
        (-0.3, 0.2, [-0.3, -0.2, -0.1, 0.0, 0.1, 0.2]),
        (5, 5, [4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6]),
    ],
)
def test_value_ticks_are_round_and_cover_the_range(lo, hi, ticks):
    d0, d1, got = charts.nice_domain(lo, hi)
    assert got == pytest.approx(ticks)
    assert d0 <= lo and d1 >= hi


def test_tick_labels_keep_the_steps_decimals():
    assert [charts.format_value(v, 0.05) for v in (0.65, 0.7, 0.75)] == ["0.65", "0.70", "0.75"]
    assert charts.format_value(1250.0, 250) == "1,250"
    assert charts.format_value(0.72) == "0.72"
    assert charts.format_value(3e-5) == "3e-05"


def test_time_ticks_fall_on_local_midnights_in_the_users_zone():
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    ticks = charts.time_ticks(END - timedelta(days=7), END, tokyo)
    assert [label for _, label in ticks] == [f"{d} Mar" for d in range(25, 32)]
    for moment, _ in ticks:
        local = moment.astimezone(tokyo)
        assert (local.hour, local.minute) == (0, 0)


@pytest.mark.parametrize(
    ("days", "labels"),
    [
        (
            1,
            [
                "30 Mar 12:00",
                "15:00",
                "18:00",
                "21:00",
                "31 Mar 00:00",
                "03:00",
                "06:00",
                "09:00",
                "12:00",
            ],
        ),
        (30, ["2 Mar", "9 Mar", "16 Mar", "23 Mar", "30 Mar"]),
        (90, ["5 Jan", "19 Jan", "2 Feb", "16 Feb", "2 Mar", "16 Mar", "30 Mar"]),
        (365, ["Apr 2025", "Jul", "Oct", "Jan 2026"]),
        (1500, ["2023", "2024", "2025", "2026"]),
    ],
)
def test_time_ticks_pick_a_calendar_step_for_the_span(days, labels):
    ticks = charts.time_ticks(END - timedelta(days=days), END, UTC)
    assert [label for _, label in ticks] == labels


def test_time_ticks_keep_wall_clock_times_across_a_daylight_saving_change():
    london = zoneinfo.ZoneInfo("Europe/London")  # clocks go forward on 29 Mar 2026
    ticks = charts.time_ticks(END - timedelta(days=4), END, london)
    assert [m.astimezone(london).hour for m, _ in ticks] == [12, 0] * 4 + [12]
    assert [label for _, label in ticks][:4] == [
        "27 Mar 12:00",
        "28 Mar 00:00",
        "12:00",
        "29 Mar 00:00",
    ]
    # 29 Mar 00:00 to 12:00 is 11 hours of real time: the clocks went forward at 01:00.
    assert ticks[4][0].timestamp() - ticks[3][0].timestamp() == 11 * 3600


# --- geometry --------------------------------------------------------------------------------


def _series(values, days=10):
    t = np.array([(END - timedelta(days=days - i)).timestamp() for i in range(len(values))])
    return charts.Series("1.0.0", t, np.asarray(values, float))


def _chart(bands=None, markers=(), values=(0.9, 0.85, 0.7)):
    return charts.build_chart(
        chart_id="c",
        title="recall",
        series=[_series(values)],
        start=END - timedelta(days=30),
        end=END,
        bands=bands,
        markers=list(markers),
    )


def _band(chart, kind):
    return next(b for b in chart.bands if b["kind"] == kind)


def test_bands_of_a_below_threshold_put_the_critical_zone_at_the_bottom():
    chart = _chart(charts.Bands("below", warning=0.8, critical=0.72))
    warning, critical = _band(chart, "warning"), _band(chart, "critical")
    assert critical["y"] == pytest.approx(warning["y"] + warning["height"], abs=0.11)
    assert critical["y"] + critical["height"] == pytest.approx(chart.bottom)
    assert "below 0.72" in critical["title"]


def test_bands_of_an_above_threshold_put_the_critical_zone_at_the_top():
    chart = _chart(charts.Bands("above", warning=0.2, critical=0.3), values=(0.1, 0.15, 0.25))
    warning, critical = _band(chart, "warning"), _band(chart, "critical")
    assert critical["y"] == pytest.approx(chart.top)
    assert critical["y"] + critical["height"] == pytest.approx(warning["y"], abs=0.11)
    assert "above 0.3" in critical["title"]


def test_the_value_axis_includes_the_bounds_far_from_the_data():
    chart = _chart(charts.Bands("below", warning=0.5, critical=0.4), values=(0.95, 0.96))
    labels = [float(t["label"]) for t in chart.y_ticks]
    assert min(labels) <= 0.35 and max(labels) >= 0.96


def test_breach_markers_sit_on_their_time_and_value_with_a_tooltip():
    at = (END - timedelta(days=8)).timestamp()
    chart = _chart(
        charts.Bands("below", 0.8, 0.72),
        markers=[
            charts.Marker(at, 0.7, "critical", "Critical breach"),
            charts.Marker((END - timedelta(days=90)).timestamp(), 0.7, "warning", "old"),
        ],
    )
    [marker] = chart.markers
    line = chart.lines[0]
    third_point = line["points"].split()[2]
    assert f"{marker['cx']:.1f},{marker['cy']:.1f}" == third_point
    assert marker["text"] == "Critical breach" and marker["colour"] == charts.CRITICAL_STROKE
    assert [i["label"] for i in chart.legend] == [
        "1.0.0",
        "Warning zone",
        "Critical zone",
        "Breach",
    ]


def test_an_empty_chart_says_so_and_keeps_its_axes():
    chart = charts.build_chart(
        chart_id="e", title="auc", series=[], start=END - timedelta(days=7), end=END
    )
    assert chart.empty and chart.x_ticks and chart.y_ticks
    assert "no observations" in chart.description


def test_the_description_names_latest_values_bounds_and_breaches():
    chart = _chart(
        charts.Bands("below", 0.8, 0.72),
        markers=[charts.Marker((END - timedelta(days=8)).timestamp(), 0.7, "critical", "x")],
    )
    assert chart.description == (
        "recall. 1.0.0: latest 0.7; warning below 0.8, critical below 0.72; 1 breach marked."
    )


def test_lines_stay_inside_the_plot_area():
    chart = _chart(values=(0.1, 5.0, -3.0))
    for point in chart.lines[0]["points"].split():
        px, py = map(float, point.split(","))
        assert chart.left <= px <= chart.right and chart.top <= py <= chart.bottom
