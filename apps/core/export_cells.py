"""How exports (CSV, XLSX) write times, dates and people for the people who read them, next
to the ISO values and codes that programs read. Pure: no ORM.

A time is written twice: in the reader's zone for people ("3 Dec 2026, 09:15 GMT") and as
ISO 8601 in UTC for programs. A person is their full name; the username goes in a column
of its own.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import dateformat

UTC = dt.UTC

#: People's formats: day, month name, year (unambiguous in every country), 24-hour time
#: and the zone's abbreviation (or offset).
DATE_FORMAT = "j M Y"
TIME_FORMAT = "j M Y, H:i T"


def zone_of(user) -> dt.tzinfo:
    """The zone ``user`` reads times in (their profile's), UTC when none or unknown."""
    name = getattr(user, "timezone", "") or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def _moment(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def local_time(value: dt.datetime | str | None, zone: dt.tzinfo = UTC) -> str:
    """A moment (aware datetime or ISO text) in ``zone`` for people; "" for none."""
    moment = _moment(value)
    if moment is None:
        return ""
    return dateformat.format(moment.astimezone(zone), TIME_FORMAT)


def local_date(value: dt.date | str | None) -> str:
    """A calendar date for people ("3 Dec 2026"); "" for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return dateformat.format(value, DATE_FORMAT)


def iso_utc(value: dt.datetime | str | None) -> str:
    """A moment as ISO 8601 in UTC with a ``Z`` ("2026-12-03T09:15:00Z"); "" for none."""
    moment = _moment(value)
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def person_name(*, first_name: str = "", last_name: str = "", username: str = "") -> str:
    """A person as people know them: the full name, the username when there is none."""
    return f"{first_name} {last_name}".strip() or username
