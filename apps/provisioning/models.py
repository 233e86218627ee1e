"""SCIM 2.0 provisioning: the identity provider's credential, and the SCIM view of users and
groups (the provider's ids, and which provider group each user is in).

mlgov's accounts stay the accounts app's ``User``; a ``ScimUser`` only links one to the
provider (the SCIM ``id`` mlgov gave it and the provider's ``externalId``). Roles are never
stored here: they follow from the groups through the identity mapping.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from apps.core import clock


class ScimCredential(models.Model):
    """The bearer secret an identity provider presents on every SCIM call.

    Not a user and not an API token: it opens ``/scim/v2/`` and nothing else, and no user
    token opens ``/scim/v2/``. The secret is shown once when made; only its SHA-512 digest is
    kept, found by ``prefix`` (the secret's first characters). Every credential expires; a
    revoked one stays listed (audit events name it as their actor).
    """

    name = models.CharField(
        max_length=100, unique=True, help_text="Which provider uses it, e.g. “Entra ID”."
    )
    prefix = models.CharField(max_length=24, unique=True, editable=False)
    digest = models.CharField(max_length=128, unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="Who made it; empty when made by the operator's command.",
    )
    expires_at = models.DateTimeField(editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "SCIM credential"

    def __str__(self) -> str:
        return f"SCIM credential “{self.name}” ({self.prefix}…)"

    @property
    def actor_name(self) -> str:
        """How audit events name this credential as the actor of the writes it made."""
        return f"scim:{self.name}"[:150]

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > clock.now()


class ScimUser(models.Model):
    """A provisioned account: the SCIM id mlgov gave it and the provider's ``externalId``
    (the subject of its OpenID Connect tokens). A SCIM DELETE removes this link and
    deactivates the account; the account, its history and its signatures stay."""

    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scim_link"
    )
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # The provider's label for the e-mail address (work, home…) and its primary flag, given
    # back as they were sent (None: not sent).
    email_type = models.CharField(max_length=32, blank=True)
    email_primary = models.BooleanField(null=True, blank=True)
    created = models.DateTimeField(editable=False)
    modified = models.DateTimeField(editable=False)

    class Meta:
        ordering = ["pk"]
        verbose_name = "SCIM user"

    def __str__(self) -> str:
        return f"SCIM user {self.scim_id} ({self.user_id})"


class ScimGroup(models.Model):
    """A group at the identity provider, as SCIM sends it. Its members get the roles the
    identity mapping gives its name (or its ``externalId``, the provider's object id)."""

    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    members = models.ManyToManyField(ScimUser, related_name="groups", blank=True)
    created = models.DateTimeField(editable=False)
    modified = models.DateTimeField(editable=False)

    class Meta:
        ordering = ["pk"]
        verbose_name = "SCIM group"
        constraints = [
            models.UniqueConstraint(Upper("display_name"), name="provisioning_group_name_unique")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def mapping_names(self) -> list[str]:
        """The names the identity mapping may know this group by."""
        return [n for n in (self.display_name, self.external_id) if n]
