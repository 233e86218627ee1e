"""Input checks shared by forms, filters and the API: text a database can store and a
reference can name, JSON PostgreSQL's jsonb accepts, datetimes PostgreSQL accepts.

Pure functions without the ORM. Each ``*_problem`` function returns a sentence saying what is
wrong (or ``None``), so callers raise the error type of their layer (a form's or DRF's
``ValidationError``) with a message naming the field.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError

# PostgreSQL refuses a UTC offset of 16 hours or more ("time zone displacement out of range").
UTC_OFFSET_LIMIT = timedelta(hours=16)
# Deeper JSON is not a real configuration or metric set, and walking it costs recursion.
MAX_JSON_DEPTH = 32
# A JSON field's value, as stored: hyperparameters and scopes are kilobytes, not megabytes.
MAX_JSON_BYTES = 256 * 1024


def _describe(char: str) -> str:
    if char == "\x00":
        return "a NUL character"
    if unicodedata.category(char) == "Cs":
        return "an unpaired surrogate (not a character)"
    return f"a control character (U+{ord(char):04X})"


def control_character_problem(value: str) -> str | None:
    """Why ``value`` cannot be a reference (a slug, username, code, version, filter value).

    References never contain control characters (C0, DEL, C1) nor unpaired surrogates; the
    database refuses NUL and cannot encode a surrogate, and neither is ever part of a name.
    """
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"Contains {_describe(char)}; names and filter values cannot."
    return None


def stored_text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL and unpaired surrogates; tabs and newlines
    are fine in free text)."""
    for char in value:
        if char == "\x00" or unicodedata.category(char) == "Cs":
            return f"Contains {_describe(char)}, which cannot be stored."
    return None


def refuse_control_characters(value) -> None:
    """Django validator for reference fields (forms and filters)."""
    for text in _texts(value):
        problem = control_character_problem(text)
        if problem:
            raise ValidationError(problem, code="control_character")


def _texts(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):
                yield item


def json_problem(
    value, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> str | None:
    """Why ``value`` (already parsed) cannot be stored as JSON: NUL or unpaired surrogates in a
    key or string (jsonb refuses them), NaN or infinite numbers (not JSON), nesting deeper
    than ``max_depth`` or more than ``max_bytes`` once encoded. The message names the place
    (``$.a[2].b``)."""
    # Iterative walk: a hostile document must not cost Python recursion.
    stack: list[tuple[object, str, int]] = [(value, "$", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > max_depth:
            return f"Nested deeper than {max_depth} levels at {path}."
        if isinstance(node, str):
            problem = stored_text_problem(node)
            if problem:
                return f"{problem[:-1]} (at {path})."
        elif isinstance(node, float):
            if not math.isfinite(node):
                return f"{node} is not a JSON number (at {path})."
        elif isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    return f"Keys must be strings (at {path})."
                problem = stored_text_problem(key)
                if problem:
                    return f"A key {problem[0].lower()}{problem[1:-1]} (at {path})."
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(node, list | tuple):
            for index, item in enumerate(node):
                stack.append((item, f"{path}[{index}]", depth + 1))
        elif node is not None and not isinstance(node, bool | int):
            return f"{type(node).__name__} is not a JSON value (at {path})."
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > max_bytes:
        return f"{size} bytes of JSON; at most {max_bytes} are accepted."
    return None


def datetime_problem(value: datetime) -> str | None:
    """Why ``value`` cannot be stored as a time: a UTC offset PostgreSQL refuses (beyond
    ±15:59), or a time that leaves the calendar (years 1 to 9999) once moved to UTC."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= UTC_OFFSET_LIMIT:
        return "The UTC offset must be between -15:59 and +15:59."
    if offset is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            return "The time is out of range (years 1 to 9999, in UTC)."
    return None
