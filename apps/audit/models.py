"""Append-only, hash-chained audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from apps.audit.chain import GENESIS_HASH
from apps.core.fields import StampField


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
    object_type = models.CharField(max_length=100, editable=False)
    object_id = models.CharField(max_length=64, editable=False)
    object_repr = models.CharField(max_length=300, editable=False)
    model_ref = models.BigIntegerField(null=True, blank=True, editable=False)
    changes = models.JSONField(default=dict, editable=False)
    message = models.TextField(blank=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    client_ip = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        # Every list reads newest first, a page at a time (keyset on ``sequence``): each filter
        # has an index ending in ``sequence`` so a page is one index range, whatever the size.
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["model_ref", "sequence"], name="audit_event_model_seq"),
            models.Index(fields=["object_type", "sequence"], name="audit_event_type_seq"),
            models.Index(fields=["action", "sequence"], name="audit_event_action_seq"),
            models.Index(Upper("actor_username"), "sequence", name="audit_event_actor_seq"),
        ]
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


class ChainVerification(models.Model):
    """One verification of the hash chain, run in the background, and its result.

    An *incremental* run starts from ``base_sequence``: the latest point an earlier run
    proved, anchored where possible by a signed checkpoint outside the database (whose hash,
    not this table's, is trusted); it re-hashes the base event, recomputes every event after it
    up to the head read when it started (``target_sequence``) and compares the chain with every
    signed checkpoint. A *full* run starts from the first event and trusts nothing stored.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Could not run"

    class Trigger(models.TextChoices):
        WEB = "web", "Audit log page"
        API = "api", "API"
        COMMAND = "command", "manage.py verify_audit_log"
        SCHEDULE = "schedule", "Nightly schedule"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = StampField(auto_now_add=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    full = models.BooleanField(default=False, help_text="From the first event, trusting nothing.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # True while a run asked for from the page or the API waits or runs (unique: at most one
    # at a time, so the button answers with the running one); NULL otherwise.
    active = models.BooleanField(null=True, default=None, editable=False)
    base_sequence = models.PositiveBigIntegerField(
        default=0, help_text="Events up to this sequence were proven earlier (0: from the start)."
    )
    base_hash = models.CharField(max_length=64, blank=True)
    base_note = models.CharField(max_length=300, blank=True, help_text="Where the base came from.")
    target_sequence = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The chain head when the run started."
    )
    target_hash = models.CharField(max_length=64, blank=True)
    total = models.PositiveBigIntegerField(default=0, help_text="Events to verify.")
    verified = models.PositiveBigIntegerField(default=0, help_text="Events verified so far.")
    ok = models.BooleanField(null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True, help_text="Last valid hash.")
    broken_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    broken_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    checkpoint = models.JSONField(null=True, blank=True, help_text="The checkpoint verdict.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the run could not finish.")

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["active"], name="audit_one_requested_verification")
        ]
        indexes = [
            models.Index(
                fields=["-target_sequence"],
                name="audit_verification_proven",
                condition=models.Q(status="done", ok=True),
            )
        ]

    def __str__(self) -> str:
        return f"audit chain verification #{self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.is_final:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.verified / self.total))

    @property
    def first_sequence(self) -> int:
        """The first sequence the run recomputed (after its base)."""
        return self.base_sequence + 1

    @property
    def checkpoint_state(self) -> str:
        return (self.checkpoint or {}).get("state", "")
