"""Users of mlgov and their API tokens. Roles are Django groups (see roles.py)."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from knox.models import AbstractAuthToken

from apps.accounts.choices import TokenScope
from apps.core import clock
from apps.core.roles import roles_of


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
        return sorted(roles_of(self))

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_replaced = True

    def save(self, *args, **kwargs) -> None:
        """Save; a new password (by any path) or a deactivation revokes every API token.

        Every way of changing a password ends here: the password page, an administrator's
        reset, ``create_admin``, the services and ``set_password`` in a shell. Django leaves
        ``_password`` set after ``set_password`` until the save, and clears it for the
        transparent re-hash at login, which is not a change and must not revoke anything.
        """
        revoke_reason = ""
        replaced = self.__dict__.pop("_password_replaced", False)
        fields = kwargs.get("update_fields")
        if not self._state.adding and self.pk is not None:
            if (self._password is not None or replaced) and (
                fields is None or "password" in fields
            ):
                revoke_reason = "password changed"
            elif not self.is_active and (fields is None or "is_active" in fields):
                # An inactive account keeps no token (the check is one indexed read).
                revoke_reason = "account deactivated"
        with transaction.atomic():
            super().save(*args, **kwargs)
            if revoke_reason:
                from apps.accounts.services import auth_tokens_revoke_all

                auth_tokens_revoke_all(user=self, reason=revoke_reason)


class AuthToken(AbstractAuthToken):
    """A named API token (``Authorization: Token <key>``), kept only as a SHA-512 digest.

    The key is shown once when the token is made. ``token_key`` holds the key's first 15
    characters (the ``mlgov_`` prefix and 9 random ones) to find the row; the rest of the key
    is only ever compared by digest. A token stops working at ``expiry``, when it is revoked
    (the row is deleted, the revocation audited), and when its user changes password or is
    deactivated. ``last_used_at`` is written at most once a minute, not on every request.
    ``scope`` limits what the token opens (``TokenScope``); a view names the scopes it
    accepts in ``token_scopes`` (only ``api`` unless it says otherwise).
    """

    # A surrogate key, so audit events can name a token (the digest is longer than an
    # audit object id, and is not something to copy around).
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=128, unique=True, editable=False)
    name = models.CharField(
        max_length=100, help_text="What the token is for, e.g. “CI pipeline” or “notebook”."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made the token; empty when made by the operator's command.",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    scope = models.CharField(
        max_length=16,
        choices=TokenScope.choices,
        default=TokenScope.API,
        editable=False,
        help_text="What the token opens: the whole API as its user, or only the OpenLineage "
        "intake. Fixed when the token is made.",
    )

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…) of {self.user.get_username()}"

    @property
    def is_expired(self) -> bool:
        return self.expiry is not None and self.expiry <= clock.now()
