"""Typed helpers that read settings from the environment and fail loudly on bad values."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_parsed_list(
    name: str, parse: Callable[[str], T], default: list[T] | None = None
) -> list[T]:
    """A comma-separated list whose items ``parse`` turns into values; an item it refuses
    (ValueError) stops the start-up with a message naming the variable and the item."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    values = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            values.append(parse(item))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from exc
    return values
