"""Append-only, hash-chained audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.audit.chain import GENESIS_HASH


class AuditImmutableError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutableError("Audit events cannot be updated.")

    def delete(self):
        raise AuditImmutableError("Audit events cannot be deleted.")

    def for_model(self, model_pk: int):
        return self.filter(model_ref=model_pk)


class AuditEvent(models.Model):
    """One change: who did what to which object, with before/after values, chained by hash.

    ``model_ref`` groups events about a registered model and everything under it (versions,
    deployments, risk assessments) for the model's History tab.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        TRANSITION = "transition", "Status changed"
        DECIDE = "decide", "Decided"
        LOGIN = "login", "Logged in"
        LOGIN_FAILED = "login_failed", "Login failed"
        LOCKOUT = "lockout", "Locked out"
        UNLOCK = "unlock", "Lockout lifted"
        SIGNATURE_FAILED = "signature_failed", "Signature failed"
        REVOKE = "revoke", "Revoked"

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    actor_username = models.CharField(max_length=150, blank=True, editable=False)
    action = models.CharField(max_length=32, choices=Action.choices, editable=False)
    object_type = models.CharField(max_length=100, editable=False, db_index=True)
    object_id = models.CharField(max_length=64, editable=False)
    object_repr = models.CharField(max_length=300, editable=False)
    model_ref = models.BigIntegerField(null=True, blank=True, editable=False, db_index=True)
    changes = models.JSONField(default=dict, editable=False)
    message = models.TextField(blank=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    client_ip = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        permissions = [("verify_auditevent", "Can verify the audit chain")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_append", False):
            raise AuditImmutableError("Audit events cannot be updated.")
        kwargs.pop("_append", None)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError("Audit events cannot be deleted.")

    def as_chain_dict(self) -> dict:
        return {
            "id": self.pk,
            "sequence": self.sequence,
            "occurred_at": self.occurred_at,
            "actor_id": self.actor_id,
            "actor_username": self.actor_username,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "model_ref": self.model_ref,
            "changes": self.changes,
            "message": self.message,
            "request_id": self.request_id,
            "client_ip": self.client_ip,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class AuditChainHead(models.Model):
    """The single row holding the chain's latest sequence and hash.

    Writers lock it (SELECT ... FOR UPDATE) so concurrent transactions append one after
    another and the chain cannot fork; verification compares the chain's end against it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain head #{self.sequence}"
