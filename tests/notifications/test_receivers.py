"""Approval requests notify whoever can fill the open slots; decisions notify the requester."""

import pytest

from apps.approvals.services import approval_decide
from apps.notifications.choices import Event
from apps.notifications.models import Notification
from apps.reviews import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def tier1(model_owner, business_owner, validator):
    from tests.factories import RegisteredModelFactory

    return RegisteredModelFactory(
        owner=model_owner, business_owner=business_owner, validator=validator, risk_tier=1
    )


def test_a_request_notifies_the_approvers_but_not_the_requester(
    tier1, admin_user, validator, business_owner
):
    review = services.review_create(actor=admin_user, model=tier1, scope="Annual")
    services.review_update(actor=admin_user, review=review, outcome="satisfactory", notes="ok")
    request = services.review_submit(actor=admin_user, review=review)
    notified = set(
        Notification.objects.filter(event=Event.APPROVAL_REQUESTED).values_list(
            "recipient__username", flat=True
        )
    )
    assert notified == {validator.username, business_owner.username}
    approval_decide(
        actor=validator, request=request, verdict="approve", password="correct-horse-battery"
    )
    decided = Notification.objects.get(event=Event.APPROVAL_DECIDED)
    assert decided.recipient == admin_user
    # Still pending: the business owner is told again that their approval is awaited, on the
    # same unread item (counted twice, with the newest text), not a second one.
    awaited = Notification.objects.get(event=Event.APPROVAL_REQUESTED, recipient=business_owner)
    assert awaited.count == 2
    assert awaited.text.startswith("Your approval is awaited")
    assert awaited.read_at is None
    # The validator has done their part: their request to approve is settled (read).
    mine = Notification.objects.get(event=Event.APPROVAL_REQUESTED, recipient=validator)
    assert mine.read_at is not None
