"""The reviews demo data: an overdue review and open findings, created once."""

import pytest
from django.utils import timezone

from apps.demo.reviews import seed_reviews
from apps.reviews import selectors
from apps.reviews.models import Finding, Review
from tests.factories import RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_seeds_an_overdue_review_and_findings_once():
    validator = UserFactory(username="validator", roles=["validator"])
    owner = UserFactory(username="model_owner", roles=["model_owner"])
    UserFactory(username="model_owner2", roles=["model_owner"])
    for slug in ("payment-anomaly-prioritiser", "retail-credit-scoring"):
        RegisteredModelFactory(slug=slug, owner=owner)
    assert seed_reviews() == {"reviews": 1, "findings": 2}
    assert seed_reviews() == {"reviews": 0, "findings": 0}
    review = Review.objects.get()
    assert review.model.next_review_date < timezone.localdate()
    assert Finding.objects.count() == 2
    assert selectors.overdue_finding_count(user=validator) == 1
