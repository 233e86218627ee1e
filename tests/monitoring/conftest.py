"""Fixtures of the monitoring tests: a metric, a future review date, a threshold helper."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from apps.approvals.choices import Verdict
from apps.approvals.services import approval_decide
from apps.monitoring import services
from tests.monitoring.factories import MetricFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture
def auc(db, admin_user):
    return MetricFactory(name="auc", direction="higher_is_better", created_by=admin_user)


@pytest.fixture
def review_by():
    return timezone.localdate() + datetime.timedelta(days=180)


@pytest.fixture
def draft(owned_model, model_owner, auc, review_by):
    """A draft AUC threshold of ``owned_model`` by its owner."""
    return services.threshold_create(
        actor=model_owner,
        model=owned_model,
        metric=auc,
        warning_bound=0.75,
        critical_bound=0.70,
        rationale="Below 0.70 decisions are no better than the old rules.",
        review_by=review_by,
    )


def sign(request, *approvers, verdict=Verdict.APPROVE, comment=""):
    """Decide ``request`` with each approver (the personas share PASSWORD)."""
    for approver in approvers:
        approval_decide(
            actor=approver, request=request, verdict=verdict, password=PASSWORD, comment=comment
        )


@pytest.fixture
def activate(model_owner, business_owner, validator):
    """Submit a threshold and sign it off with the business owner and a validator."""

    def run(threshold):
        threshold = services.threshold_submit(actor=model_owner, threshold=threshold)
        sign(threshold.signoff_request, business_owner, validator)
        threshold.refresh_from_db()
        return threshold

    return run
