"""Reads of notifications: a user only ever sees their own."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404

from apps.notifications.models import Notification
from apps.notifications.registry import State, StateReader, state_readers

logger = logging.getLogger(__name__)


def _cache(call, *args, **kwargs):
    """A cache call that never fails a page or a write: the count is only a shortcut, so a
    cache that is down (Redis restarting) is a miss, logged, and the database answers."""
    try:
        return call(*args, **kwargs)
    except Exception as exc:  # any backend's error means the same here
        logger.warning("notifications: cache unavailable (%s); counting in the database", exc)
        return None


#: The navigation badge's count is kept in the cache (every page shows it): writes that change
#: it drop the entry (``unread_count_forget``), so this is only a bound on a missed drop.
UNREAD_CACHE_SECONDS = 120


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user)
    return qs.filter(read_at__isnull=True) if unread_only else qs


def notification_get(*, user, pk: int) -> Notification:
    obj = notification_list(user=user).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such notification.")
    return obj


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def _unread_entry(user) -> tuple[str, str]:
    """The cache key, and a tag of the account the count is about (its id alone could name a
    different account over a cache's life: a re-created test database, another instance
    sharing the cache)."""
    joined = getattr(user, "date_joined", None)
    return _unread_key(user.pk), joined.isoformat() if joined else ""


def unread_count(*, user, cached: bool = False) -> int:
    """The user's unread notifications: one count on the ``(recipient, read_at)`` index.
    ``cached`` (the navigation badge on every page) answers from the cache when it can, so a
    page's queries do not grow by the badge."""
    if not getattr(user, "is_authenticated", False):
        return 0
    key, tag = _unread_entry(user)
    if cached:
        entry = _cache(cache.get, key)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == tag:
            return entry[1]
    count = notification_list(user=user, unread_only=True).count()
    _cache(cache.set, key, (tag, count), UNREAD_CACHE_SECONDS)
    return count


def unread_counter(user):
    """The navigation's unread count (``apps.core.navigation``): the cached number when the
    cache holds it, else the query to count with the page's other navigation counts."""
    key, tag = _unread_entry(user)
    entry = _cache(cache.get, key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == tag:
        return entry[1]
    return notification_list(user=user, unread_only=True)


def unread_count_remember(*, user, count: int) -> None:
    """Keep a count read with the navigation's others for the next pages."""
    key, tag = _unread_entry(user)
    _cache(cache.set, key, (tag, count), UNREAD_CACHE_SECONDS)


def unread_count_forget(user_ids) -> None:
    """Drop the cached counts of these users (after their notifications changed)."""
    keys = [_unread_key(pk) for pk in set(user_ids)]
    if keys:
        _cache(cache.delete_many, keys)


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
