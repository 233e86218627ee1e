"""Users of mlgov. Roles are Django groups (see roles.py)."""

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/London).") from exc


class User(AbstractUser):
    """An mlgov user. ``timezone`` is the zone times are shown in; storage is always UTC."""

    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA time zone used to display times, e.g. Europe/Berlin.",
    )
    job_title = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role_names(self) -> list[str]:
        from apps.accounts.roles import roles_of

        return sorted(roles_of(self))
