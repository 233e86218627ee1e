"""Reads of notifications: a user only ever sees their own."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.notifications.models import Notification


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user)
    return qs.filter(read_at__isnull=True) if unread_only else qs


def notification_get(*, user, pk: int) -> Notification:
    obj = notification_list(user=user).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such notification.")
    return obj


def unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return notification_list(user=user, unread_only=True).count()
