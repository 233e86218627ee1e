"""How the snapshot writes values: times in UTC ISO 8601, finite numbers, choice labels, text.

Pure: no database.
"""

from __future__ import annotations

import datetime as dt
import math

from django.db import models
from django.utils import timezone


def iso(value) -> str | None:
    """UTC ISO 8601 to the second for a time, ``YYYY-MM-DD`` for a date."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        value = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def label(choices: type[models.Choices], value) -> str:
    if value is None or value == "":
        return ""
    return str(dict(choices.choices).get(value, value))


def text(value) -> str:
    return value or ""
