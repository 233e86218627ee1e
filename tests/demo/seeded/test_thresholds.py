"""Demo thresholds: signed ones and a revision waiting for the business owner."""

from __future__ import annotations

import pytest

from apps.approvals.models import ApprovalRequest
from apps.demo.monitoring import seed_thresholds
from apps.monitoring.choices import ThresholdStatus
from apps.monitoring.models import Threshold

pytestmark = pytest.mark.django_db


def test_seed_demo_seeds_active_thresholds_and_one_pending_sign_off_idempotently(seeded_demo):
    # seed_demo (run once for the package, conftest.py) calls seed_thresholds.
    assert Threshold.objects.filter(status=ThresholdStatus.ACTIVE).count() >= 3
    pending = Threshold.objects.get(status=ThresholdStatus.PENDING_SIGNOFF)
    request = pending.signoff_request
    assert request.is_open and request.model.business_owner.username == "business_owner"
    assert pending.supersedes.status == ThresholdStatus.ACTIVE
    count = Threshold.objects.count()
    assert seed_thresholds() == {"metrics": 0, "thresholds": 0, "threshold revisions submitted": 0}
    assert Threshold.objects.count() == count
    assert ApprovalRequest.objects.filter(kind="threshold_signoff", status="pending").count() == 1
