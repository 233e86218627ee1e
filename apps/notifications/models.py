"""In-app notifications, webhook endpoints and the record of every webhook delivery."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models

from apps.core import clock
from apps.core.fields import StampField
from apps.notifications.choices import DeliveryStatus, Event

User = settings.AUTH_USER_MODEL


class Notification(models.Model):
    """A message in one user's in-app list (also sent by e-mail when they have an address).

    Unread notifications of the same event about the same thing (``link``) are one row: a
    repeat raises ``count`` and moves ``latest_at`` and the text to the newest occurrence
    (``services.notify``), so a reminder sent three times is one item saying so.
    """

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField("verb", max_length=32, choices=Event.choices)
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = StampField(auto_now_add=True)
    latest_at = models.DateTimeField(
        "latest", default=clock.now, help_text="When it last happened (the newest repeat)."
    )
    count = models.PositiveIntegerField(default=1, help_text="Times it happened while unread.")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-latest_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            # The list, newest first, a page at a time without sorting the user's history.
            models.Index(fields=["recipient", "-latest_at"], name="notification_recipient_latest"),
            # Settling what is still unread about one thing (a decided approval request).
            models.Index(
                fields=["event", "link"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_about",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class WebhookEndpoint(models.Model):
    """A URL that receives signed JSON POSTs for the events it subscribes to. Admins manage them."""

    name = models.CharField(max_length=120)
    url = models.URLField(
        "URL", max_length=500, validators=[URLValidator(schemes=["http", "https"])]
    )
    secret = models.CharField(
        max_length=200, help_text="Shared secret for the X-Mlgov-Signature HMAC-SHA256 header."
    )
    events = models.JSONField(default=list, help_text="Event names this endpoint receives.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = StampField(auto_now_add=True)
    updated_at = StampField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, event: str) -> bool:
        return event in (self.events or [])


class WebhookDelivery(models.Model):
    """One event sent to one endpoint, with every attempt's outcome.

    ``body`` holds the exact bytes sent (and signed), so retries send the same request.
    ``attempt_log`` lists ``{"at", "status", "error"}`` per attempt.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=Event.choices)
    payload = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    attempt_log = models.JSONField(default=list, blank=True)
    created_at = StampField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.get_status_display()})"
