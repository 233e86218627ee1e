"""Reads of notifications: a user only ever sees their own."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.notifications.models import Notification
from apps.notifications.registry import State, StateReader, state_readers


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user)
    return qs.filter(read_at__isnull=True) if unread_only else qs


def notification_get(*, user, pk: int) -> Notification:
    obj = notification_list(user=user).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such notification.")
    return obj


def unread_count(*, user) -> int:
    """The user's unread notifications: one count on the ``(recipient, read_at)`` index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return notification_list(user=user, unread_only=True).count()


def unread_counter(user):
    """The navigation's unread count (``apps.core.navigation``): counted with the page's
    other navigation counts in one query. Not cached: a count on an index costs less than
    keeping a cache right, and a page never waits on a cache that is down."""
    return notification_list(user=user, unread_only=True)


def notification_states(notifications) -> dict[int, State]:
    """``{notification pk: State}`` of the things a page of notifications points to, read in
    bulk: each registered reader once for the whole page (events sharing a reader together),
    never a query per row."""
    readers = state_readers()
    wanted: dict[int, tuple[StateReader, set]] = {}
    keys: dict[int, tuple[StateReader, object]] = {}
    for notification in notifications:
        reader = readers.get(notification.event)
        key = reader.key(notification.payload or {}) if reader is not None else None
        if key is None:
            continue
        wanted.setdefault(id(reader), (reader, set()))[1].add(key)
        keys[notification.pk] = (reader, key)
    found = {ident: reader.read(ids) for ident, (reader, ids) in wanted.items()}
    return {
        pk: found[id(reader)][key] for pk, (reader, key) in keys.items() if key in found[id(reader)]
    }
