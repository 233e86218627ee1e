"""Bounds and evaluation rules, without a database."""

import pytest

from apps.monitoring import bounds


@pytest.mark.parametrize(
    ("direction", "warning", "critical", "field"),
    [
        ("below", 0.7, 0.75, "critical_bound"),
        ("below", 0.7, 0.7, "critical_bound"),
        ("above", 0.25, 0.1, "critical_bound"),
        ("above", None, 0.1, "warning_bound"),
        ("below", 0.7, None, "critical_bound"),
        ("below", float("nan"), 0.5, "warning_bound"),
    ],
)
def test_it_names_the_field_of_bad_bounds(direction, warning, critical, field):
    assert field in bounds.bound_errors(direction, warning, critical)


def test_it_accepts_critical_beyond_warning_in_the_breach_direction():
    assert bounds.bound_errors("below", 0.75, 0.7) == {}
    assert bounds.bound_errors("above", 0.1, 0.25) == {}


def test_the_message_says_which_way_the_critical_bound_must_lie():
    message = bounds.bound_errors("below", 0.7, 0.8)["critical_bound"]
    assert "must be below the warning bound" in message


@pytest.mark.parametrize(
    ("evaluation", "window", "samples", "field"),
    [
        ("mean", None, 1, "window_days"),
        ("max", 0, 1, "window_days"),
        ("latest", 7, 1, "window_days"),
        ("latest", None, 0, "min_samples"),
    ],
)
def test_it_names_the_field_of_a_bad_evaluation(evaluation, window, samples, field):
    assert field in bounds.evaluation_errors(evaluation, window, samples)


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        (0.8, "below", "ok"),
        (0.75, "below", "warning"),
        (0.69, "below", "critical"),
        (0.05, "above", "ok"),
        (0.1, "above", "warning"),
        (0.3, "above", "critical"),
    ],
)
def test_it_classifies_values(value, direction, expected):
    warning, critical = (0.75, 0.7) if direction == "below" else (0.1, 0.25)
    assert bounds.classify(value, direction=direction, warning=warning, critical=critical) == (
        expected
    )
