"""The notification list: own notifications only, unread count, mark read."""

import pytest
from django.urls import reverse

from apps.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_it_lists_only_my_notifications_and_marks_them_read(
    client, validator, auditor, django_assert_max_num_queries
):
    for i in range(3):
        Notification.objects.create(recipient=validator, event="review.due", text=f"mine {i}")
    other = Notification.objects.create(recipient=auditor, event="review.due", text="theirs")
    client.force_login(validator)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("notifications:list"))
    assert page.context["unread_count"] == 3
    assert b"theirs" not in page.content
    assert client.post(reverse("notifications:mark_read", args=[other.pk])).status_code == 404
    mine = Notification.objects.filter(recipient=validator).first()
    client.post(reverse("notifications:mark_read", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.read_at is not None
    client.post(reverse("notifications:mark_all_read"))
    assert not Notification.objects.filter(recipient=validator, read_at__isnull=True).exists()
