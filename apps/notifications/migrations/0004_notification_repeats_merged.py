"""Existing notifications get their latest time, unread repeats of one event about one thing
become one row counting them, and requests for an approval that has since been settled are
marked read (nothing is left to do on them; the list still shows them with how they ended)."""

from django.db import migrations
from django.db.models import Count, F, Max


def merge(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    Notification.objects.update(latest_at=F("created_at"))
    groups = (
        Notification.objects.filter(read_at__isnull=True)
        .values("recipient_id", "event", "link")
        .annotate(n=Count("pk"), newest=Max("pk"), latest=Max("created_at"))
        .filter(n__gt=1)
    )
    for group in list(groups):
        same = Notification.objects.filter(
            recipient_id=group["recipient_id"],
            event=group["event"],
            link=group["link"],
            read_at__isnull=True,
        )
        same.exclude(pk=group["newest"]).delete()
        same.filter(pk=group["newest"]).update(count=group["n"], latest_at=group["latest"])
    asked = [
        (pk, payload.get("request_id"))
        for pk, payload in Notification.objects.filter(
            event="approval.requested", read_at__isnull=True
        ).values_list("pk", "payload")
        if isinstance(payload, dict) and isinstance(payload.get("request_id"), int)
    ]
    settled = dict(
        ApprovalRequest.objects.filter(pk__in={request_id for _, request_id in asked})
        .exclude(status="pending")
        .values_list("pk", "closed_at")
    )
    for pk, request_id in asked:
        if request_id in settled:
            Notification.objects.filter(pk=pk).update(
                read_at=settled[request_id] or F("latest_at")
            )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_notification_repeats"),
        ("approvals", "0005_model_closed_index"),
    ]

    operations = [migrations.RunPython(merge, migrations.RunPython.noop)]
