"""Metric charts as plain geometry: downsampling, scales, ticks, threshold bands and breaches.

Pure (numpy and the standard library, no ORM), so it is tested and benchmarked without a
database. The markup is ``templates/includes/metric_chart.svg.html``: self-contained SVG with
presentation attributes only, so the same chart renders in the browser and in PDF reports.

Downsampling is two-stage. The selector reduces a series in SQL to a few hundred time buckets
with the first and last time, the lowest and the highest value of each (so a one-point spike
survives, whatever the series' length); ``expand_buckets`` turns those into points and
``lttb`` (Largest-Triangle-Three-Buckets) thins them to what the chart can show, keeping the
first and last points and the series' extremes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np

#: At most this many points are drawn per line (a chart is about 600 px wide).
MAX_POINTS = 600
#: Time buckets the selector reduces each series to in SQL (two points per bucket at most):
#: half of MAX_POINTS, so a chart's buckets are drawn as they are, without a pass of LTTB
#: in Python (a tenth of a second a page for a handful of series).
SQL_BUCKETS = MAX_POINTS // 2

WIDTH = 720
HEIGHT = 260
MARGIN_LEFT = 64
MARGIN_RIGHT = 16
MARGIN_TOP = 30
MARGIN_BOTTOM = 42

#: Line colours of the versions drawn on one chart, in order.
PALETTE = ("#1f4e79", "#b85c00", "#2e7d5b", "#7a3e9d", "#5d6d7e", "#a4262c")
WARNING_FILL = "#fdf3dc"
WARNING_STROKE = "#b86e00"
CRITICAL_FILL = "#fbe9ea"
CRITICAL_STROKE = "#a4262c"
STATE_COLOURS = {"warning": WARNING_STROKE, "critical": CRITICAL_STROKE}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- downsampling --------------------------------------------------------------------------


def bucket_width(start: float, end: float, buckets: int = SQL_BUCKETS) -> float:
    """Seconds per bucket so that ``[start, end)`` falls into at most ``buckets`` buckets."""
    return max((end - start) / max(buckets, 1), 1.0)


def expand_buckets(
    t_first: np.ndarray, t_last: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points of a bucketed series (buckets in time order): one point for a bucket holding one
    value, else two (its lowest and highest value at its first and last time).

    Within a bucket the order of the low and the high is unknown; the pair is drawn in the
    direction the series moves from the previous bucket, which is what the eye expects and
    makes no visible difference at one bucket per pixel column.
    """
    t_first, t_last = np.asarray(t_first, float), np.asarray(t_last, float)
    low, high = np.asarray(low, float), np.asarray(high, float)
    if t_first.size == 0:
        return np.empty(0), np.empty(0)
    single = (low == high) | (t_first == t_last)
    mid = (low + high) / 2
    previous = np.concatenate(([mid[0]], mid[:-1]))
    rising = mid >= previous
    first_y = np.where(rising, low, high)
    second_y = np.where(rising, high, low)
    # Interleave (first, second) per bucket, then drop the second point of single buckets.
    x = np.column_stack((t_first, t_last)).ravel()
    y = np.column_stack((np.where(single, low, first_y), second_y)).ravel()
    keep = np.column_stack((np.ones_like(single), ~single)).ravel()
    return x[keep], y[keep]


def lttb(x: np.ndarray, y: np.ndarray, threshold: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``threshold`` points chosen by Largest-Triangle-Three-Buckets
    (Steinarsson 2013), in order. The first and last points are always kept, and so are the
    lowest and highest value: each replaces the point chosen in its bucket, so a single
    spike is never smoothed away.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    if threshold >= n or threshold < 3:
        return np.arange(n)
    # Buckets of the n - 2 inner points; edges[i]..edges[i+1] is bucket i.
    edges = np.floor(np.linspace(1, n - 1, threshold - 1)).astype(int)
    chosen = np.empty(threshold, dtype=int)
    chosen[0], chosen[-1] = 0, n - 1
    a = 0
    for i in range(threshold - 2):
        lo, hi = edges[i], edges[i + 1]
        nxt_lo, nxt_hi = edges[i + 1], edges[i + 2] if i + 2 < edges.size else n
        if nxt_hi <= nxt_lo:
            nxt_hi = nxt_lo + 1
        avg_x, avg_y = x[nxt_lo:nxt_hi].mean(), y[nxt_lo:nxt_hi].mean()
        # Twice the triangle's area; the constant factor does not change the argmax.
        area = np.abs((x[a] - avg_x) * (y[lo:hi] - y[a]) - (x[a] - x[lo:hi]) * (avg_y - y[a]))
        a = lo + int(np.argmax(area)) if hi > lo else lo
        chosen[i + 1] = a
    for extreme in (int(np.argmin(y)), int(np.argmax(y))):
        if extreme in (0, n - 1) or extreme in chosen:
            continue
        bucket = int(np.searchsorted(edges, extreme, side="right")) - 1
        chosen[1 + min(max(bucket, 0), threshold - 3)] = extreme
    return np.unique(chosen)


def downsample(
    x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` thinned to at most ``max_points`` points with ``lttb``."""
    keep = lttb(x, y, max_points)
    return np.asarray(x, float)[keep], np.asarray(y, float)[keep]


def series_points(
    t_first: np.ndarray,
    t_last: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    max_points: int = MAX_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """The points to draw of a bucketed series: buckets expanded, then thinned by LTTB."""
    x, y = expand_buckets(t_first, t_last, low, high)
    return downsample(x, y, max_points)


# --- scales and ticks ----------------------------------------------------------------------


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2, 2.5 or 5 × 10^k giving about ``count`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def nice_domain(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """The value range widened to round tick values, and those ticks (ascending)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count)
    start, stop = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [round(k * step, 12) for k in range(start, stop + 1)]
    return ticks[0], ticks[-1], ticks


def format_value(value: float, step: float | None = None) -> str:
    """A number with as many decimals as the tick step (or the value) needs, no trailing
    zeros: 0.72, 1,250, 3.5e-05."""
    if value == 0:
        return "0"
    magnitude = abs(step) if step else abs(value)
    if magnitude >= 1e6 or magnitude < 1e-4:
        return f"{value:.3g}"
    # A tick shows the step's decimals; a value three significant digits.
    decimals = _decimals_of(step) if step else max(0, 2 - math.floor(math.log10(magnitude)))
    text = f"{value:,.{min(decimals, 6)}f}"
    # Tick labels keep the step's decimals (0.65, 0.70, 0.75); lone values drop trailing zeros.
    return text.rstrip("0").rstrip(".") if "." in text and not step else text


def _decimals_of(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


@dataclass(frozen=True)
class TimeStep:
    """A tick interval: a number of seconds, or of calendar months."""

    seconds: int = 0
    months: int = 0

    @property
    def approx_seconds(self) -> float:
        return self.seconds or self.months * 30.44 * 86400


HOUR, DAY = 3600, 86400
TIME_STEPS = (
    TimeStep(seconds=HOUR),
    TimeStep(seconds=3 * HOUR),
    TimeStep(seconds=6 * HOUR),
    TimeStep(seconds=12 * HOUR),
    TimeStep(seconds=DAY),
    TimeStep(seconds=2 * DAY),
    TimeStep(seconds=7 * DAY),
    TimeStep(seconds=14 * DAY),
    TimeStep(months=1),
    TimeStep(months=3),
    TimeStep(months=6),
    TimeStep(months=12),
    TimeStep(months=24),
    TimeStep(months=60),
)


def _time_step(span: float, count: int) -> TimeStep:
    for step in TIME_STEPS:
        if span / step.approx_seconds <= count:
            return step
    return TIME_STEPS[-1]


def _first_tick(local: datetime, step: TimeStep) -> datetime:
    """The first tick boundary at or after ``local`` (a naive wall-clock time)."""
    if step.months:
        months = local.year * 12 + local.month - 1
        if local != datetime(local.year, local.month, 1):
            months += 1
        months = -(-months // step.months) * step.months
        return datetime(months // 12, months % 12 + 1, 1)
    if step.seconds >= 7 * DAY:  # weeks start on Monday
        day = datetime(local.year, local.month, local.day)
        if day < local:
            day += timedelta(days=1)
        return day + timedelta(days=(7 - day.weekday()) % 7)
    if step.seconds >= DAY:
        day = datetime(local.year, local.month, local.day)
        return day if day >= local else day + timedelta(days=1)
    midnight = datetime(local.year, local.month, local.day)
    elapsed = (local - midnight).total_seconds()
    return midnight + timedelta(seconds=math.ceil(elapsed / step.seconds) * step.seconds)


def _advance(local: datetime, step: TimeStep) -> datetime:
    if step.months:
        months = local.year * 12 + local.month - 1 + step.months
        return datetime(months // 12, months % 12 + 1, 1)
    return local + timedelta(seconds=step.seconds)


def _time_label(local: datetime, step: TimeStep, previous: datetime | None) -> str:
    if step.months >= 12:
        return str(local.year)
    if step.months:
        new_year = previous is None or previous.year != local.year
        return f"{MONTHS[local.month - 1]} {local.year}" if new_year else MONTHS[local.month - 1]
    day = f"{local.day} {MONTHS[local.month - 1]}"
    if step.seconds >= DAY:
        return day
    if previous is None or previous.date() != local.date():
        return f"{day} {local:%H:%M}"
    return f"{local:%H:%M}"


def time_ticks(start: datetime, end: datetime, tz: tzinfo, count: int = 8) -> list[tuple]:
    """Ticks on round wall-clock times of zone ``tz`` (hours, midnights, Mondays, first days
    of months or years) between the aware datetimes ``start`` and ``end``:
    ``[(aware datetime, label)]``. Labels are in ``tz``, the zone of the user."""
    span = (end - start).total_seconds()
    if span <= 0:
        return []
    step = _time_step(span, count)
    local = _first_tick(start.astimezone(tz).replace(tzinfo=None), step)
    stop = end.astimezone(tz).replace(tzinfo=None)
    ticks: list[tuple] = []
    previous = None
    while local <= stop and len(ticks) < 4 * count:
        ticks.append((local.replace(tzinfo=tz), _time_label(local, step, previous)))
        previous = local
        local = _advance(local, step)
    return ticks


# --- geometry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line: times (epoch seconds) and values, already downsampled or not."""

    label: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Bands:
    """The bounds of the threshold drawn behind the lines. ``direction`` is ``below`` (the
    value breaches when it falls) or ``above``."""

    direction: str
    warning: float
    critical: float
    label: str = ""


@dataclass(frozen=True)
class Marker:
    """A breach: its time (epoch seconds), value, state (warning/critical) and tooltip."""

    at: float
    value: float
    state: str
    text: str


@dataclass
class Chart:
    """Everything the SVG template draws, in pixels."""

    chart_id: str
    title: str
    unit: str
    description: str
    time_label: str = "Time (UTC)"
    width: int = WIDTH
    height: int = HEIGHT
    left: int = MARGIN_LEFT
    right: int = WIDTH - MARGIN_RIGHT
    top: int = MARGIN_TOP
    bottom: int = HEIGHT - MARGIN_BOTTOM
    empty: bool = True
    x_ticks: list[dict] = field(default_factory=list)
    y_ticks: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    bands: list[dict] = field(default_factory=list)
    bound_lines: list[dict] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    legend: list[dict] = field(default_factory=list)
    points: int = 0

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    @property
    def middle_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def middle_y(self) -> float:
        return (self.top + self.bottom) / 2


class Scale:
    """A linear map from a domain to a pixel range."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float):
        self.d0, self.r0, self.r1 = d0, r0, r1
        self.k = (r1 - r0) / (d1 - d0) if d1 != d0 else 0.0

    def __call__(self, v):
        return self.r0 + (np.asarray(v, float) - self.d0) * self.k

    def clip(self, v):
        lo, hi = min(self.r0, self.r1), max(self.r0, self.r1)
        return np.clip(self(v), lo, hi)


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _value_range(series: list[Series], bands: Bands | None) -> tuple[float, float]:
    values = [s.y for s in series if s.y.size]
    lo = min((float(v.min()) for v in values), default=math.nan)
    hi = max((float(v.max()) for v in values), default=math.nan)
    if bands is not None:
        gap = abs(bands.warning - bands.critical)
        beyond = (
            bands.critical - gap / 2 if bands.direction == "below" else bands.critical + gap / 2
        )
        edges = (bands.warning, bands.critical, beyond)
        lo = min(edges) if math.isnan(lo) else min(lo, *edges)
        hi = max(edges) if math.isnan(hi) else max(hi, *edges)
    return lo, hi


def _band_rects(bands: Bands, ys: Scale, chart: Chart) -> list[dict]:
    """Shaded warning and critical zones, clipped to the plot area."""
    far = -math.inf if bands.direction == "below" else math.inf
    zones = (
        ("warning", bands.warning, bands.critical, WARNING_FILL, "Warning zone"),
        ("critical", bands.critical, far, CRITICAL_FILL, "Critical zone"),
    )
    rects = []
    for kind, a, b, fill, name in zones:
        ya, yb = float(ys.clip(a)), float(ys.clip(b))
        top, bottom = min(ya, yb), max(ya, yb)
        if bottom - top < 0.05:
            continue
        word = "below" if bands.direction == "below" else "above"
        bound = bands.warning if kind == "warning" else bands.critical
        rects.append(
            {
                "kind": kind,
                "x": chart.left,
                "y": round(top, 1),
                "width": chart.plot_width,
                "height": round(bottom - top, 1),
                "fill": fill,
                "title": f"{name}: {word} {format_value(bound)}",
            }
        )
    return rects


def build_chart(
    *,
    chart_id: str,
    title: str,
    unit: str = "",
    series: list[Series],
    start: datetime,
    end: datetime,
    tz: tzinfo = UTC,
    bands: Bands | None = None,
    markers: list[Marker] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Lay out one metric chart over ``[start, end]``: time axis in ``tz``, value axis with
    round ticks covering the data and the threshold's bounds, one polyline per series,
    shaded warning and critical zones, and a dot per breach."""
    chart = Chart(
        chart_id=chart_id,
        title=title,
        unit=unit,
        description="",
        width=width,
        height=height,
        right=width - MARGIN_RIGHT,
        bottom=height - MARGIN_BOTTOM,
        time_label=f"Time ({getattr(tz, 'key', None) or tz})",
    )
    t0, t1 = _epoch(start), _epoch(end)
    if t1 <= t0:
        t1 = t0 + 1
    xs = Scale(t0, t1, chart.left, chart.right)
    lo, hi = _value_range(series, bands)
    for m in markers:
        lo, hi = (m.value, m.value) if math.isnan(lo) else (min(lo, m.value), max(hi, m.value))
    d0, d1, ticks = nice_domain(lo, hi)
    ys = Scale(d0, d1, chart.bottom, chart.top)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else None
    chart.y_ticks = [{"y": round(float(ys(t)), 1), "label": format_value(t, step)} for t in ticks]
    chart.x_ticks = [
        {"x": round(float(xs(_epoch(moment))), 1), "label": label}
        for moment, label in time_ticks(start, end, tz)
    ]
    if bands is not None:
        chart.bands = _band_rects(bands, ys, chart)
        for kind, bound, colour in (
            ("warning", bands.warning, WARNING_STROKE),
            ("critical", bands.critical, CRITICAL_STROKE),
        ):
            chart.bound_lines.append(
                {"kind": kind, "y": round(float(ys(bound)), 1), "colour": colour}
            )
    for index, s in enumerate(series):
        if not s.y.size:
            continue
        colour = PALETTE[index % len(PALETTE)]
        px, py = xs(s.x), ys(s.y)
        chart.lines.append(
            {
                "label": s.label,
                "colour": colour,
                "points": " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True)),
                "single": s.y.size == 1,
                "cx": round(float(px[-1]), 1),
                "cy": round(float(py[-1]), 1),
            }
        )
        chart.points += int(s.y.size)
        chart.legend.append({"kind": "line", "label": s.label, "colour": colour})
    chart.empty = not chart.lines
    for m in markers:
        if not t0 <= m.at <= t1:
            continue
        chart.markers.append(
            {
                "cx": round(float(xs(m.at)), 1),
                "cy": round(float(ys.clip(m.value)), 1),
                "colour": STATE_COLOURS.get(m.state, CRITICAL_STROKE),
                "state": m.state,
                "text": m.text,
            }
        )
    if bands is not None:
        chart.legend.append({"kind": "band", "label": "Warning zone", "colour": WARNING_FILL})
        chart.legend.append({"kind": "band", "label": "Critical zone", "colour": CRITICAL_FILL})
    if chart.markers:
        chart.legend.append({"kind": "dot", "label": "Breach", "colour": CRITICAL_STROKE})
    _place_legend(chart)
    chart.description = describe(title, unit, series, bands, len(chart.markers))
    return chart


LEGEND_Y_GAP = 18
LEGEND_CHAR = 6.5


def _place_legend(chart: Chart) -> None:
    """Legend entries left to right under the time axis, wrapping to a new row."""
    x, y = chart.left, chart.height + 6
    for item in chart.legend:
        size = 22 + len(item["label"]) * LEGEND_CHAR + 14
        if x + size > chart.right and x > chart.left:
            x, y = chart.left, y + LEGEND_Y_GAP
        item["x"], item["y"] = int(x), int(y)
        x += size
    if chart.legend:
        chart.height = chart.legend[-1]["y"] + 12


def describe(
    title: str, unit: str, series: list[Series], bands: Bands | None, breaches: int
) -> str:
    """A sentence for screen readers: the latest value of each line, the bounds, breaches."""
    parts = []
    suffix = f" {unit}" if unit else ""
    for s in series:
        if s.y.size:
            parts.append(f"{s.label}: latest {format_value(float(s.y[-1]))}{suffix}")
    if not parts:
        parts.append("no observations in this range")
    if bands is not None:
        word = "below" if bands.direction == "below" else "above"
        parts.append(
            f"warning {word} {format_value(bands.warning)}, critical {word} "
            f"{format_value(bands.critical)}"
        )
    if breaches:
        parts.append(f"{breaches} breach{'es' if breaches != 1 else ''} marked")
    return f"{title}. " + "; ".join(parts) + "."
