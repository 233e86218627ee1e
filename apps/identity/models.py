"""How people at the organisation's identity provider are matched to mlgov users, and which
of the provider's groups give which mlgov role."""

from django.conf import settings
from django.db import models

from apps.core import roles

ROLE_CHOICES = [(name, roles.ROLE_LABELS[name]) for name in roles.ALL_ROLES]


class ProviderIdentity(models.Model):
    """One person at one identity provider: the provider's issuer URL and its stable subject
    identifier for them (the ``sub`` claim, or the claim ``MLGOV_OIDC_SUBJECT_CLAIM`` names,
    which SCIM's ``externalId`` carries too). A sign-in finds its user by this pair, never by
    e-mail alone: an e-mail address can be reassigned to somebody else."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_identities"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issuer", "subject"]
        verbose_name = "provider identity"
        verbose_name_plural = "provider identities"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="identity_one_user_per_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class GroupRoleMapping(models.Model):
    """A provider group that gives an mlgov role. ``group`` is spelled as the provider sends
    it in the groups claim of the ID token and as SCIM's group ``displayName`` (Entra ID sends
    group object ids, Keycloak group paths such as ``/mlgov-validators``)."""

    group = models.CharField(
        max_length=255,
        unique=True,
        help_text="The group exactly as the identity provider names it in the groups claim.",
    )
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)

    class Meta:
        ordering = ["group"]
        verbose_name = "group to role mapping"

    def __str__(self) -> str:
        return f"{self.group} → {self.role}"
