"""Webhook endpoints are managed by administrators here; deliveries are shown for reference."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.core import egress
from apps.core.admin import ReadOnlyModelAdmin, ServiceModelAdmin
from apps.core.templatetags.mlgov import user_link
from apps.notifications import services
from apps.notifications.choices import Event
from apps.notifications.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        validators=[egress.validate_url],
        help_text="A public http(s) address; internal hosts only if the operator allow-listed "
        "them (MLGOV_EGRESS_ALLOW). Redirects are not followed.",
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=True),
        help_text="Receivers verify X-Mlgov-Signature: sha256=HMAC-SHA256(body, secret).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "secret", "events", "active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url_link", "active", "updated_at")
    list_filter = ("active",)

    @admin.display(description="URL", ordering="url")
    def url_link(self, obj) -> str:
        # Through the one helper for user-entered URLs: a link only if it is http(s).
        return user_link(obj.url)

    def service_create(self, request, obj, data):
        return services.webhook_endpoint_create(actor=request.user, **data)

    def service_update(self, request, obj, data):
        return services.webhook_endpoint_update(actor=request.user, endpoint=obj, **data)

    def service_delete(self, request, obj):
        services.webhook_endpoint_delete(actor=request.user, endpoint=obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("event", "endpoint", "status", "attempts", "response_code", "created_at")
    list_filter = ("status", "event")
    readonly_fields = (
        "endpoint",
        "event",
        "payload",
        "body",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "attempt_log",
        "created_at",
        "last_attempt_at",
        "delivered_at",
    )
