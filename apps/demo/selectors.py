"""What ``make run`` tells a visitor about the demo: its accounts with what waits for each,
and a few figures of the inventory, all read from the database (never the seed's tallies,
which count only what one run created)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from apps.accounts.models import User
from apps.approvals import selectors as approval_selectors
from apps.approvals.choices import RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.core import roles
from apps.demo.data.users import DEMO_USERS
from apps.incidents.choices import ACTIVE_STATUSES
from apps.incidents.models import Incident
from apps.inventory.choices import LifecycleStatus
from apps.inventory.models import RegisteredModel
from apps.reviews.choices import FindingStatus
from apps.reviews.models import Finding


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    name: str
    waiting: int | None  # sign-offs waiting for the account; None when it signs nothing


@dataclass(frozen=True)
class DemoFigures:
    models: int
    in_production: int
    pending_requests: int
    open_incidents: int
    overdue_reviews: int
    open_findings: int


def demo_logins() -> list[DemoLogin]:
    """The demo accounts that exist, in the demo's order, each with the number of approval
    requests waiting for them now (what their "My approvals" shows)."""
    users = {
        u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS])
    }
    rows = []
    for demo in DEMO_USERS:
        user = users.get(demo.username)
        if user is None:
            continue
        signs = approval_selectors.waiting_q(user=user) is not None
        rows.append(
            DemoLogin(
                username=user.username,
                role=roles.ROLE_LABELS[demo.role],
                name=user.get_full_name() or user.username,
                waiting=approval_selectors.waiting_count(user=user) if signs else None,
            )
        )
    return rows


def demo_figures() -> DemoFigures:
    """The inventory as it stands: models, production, requests waiting, open incidents,
    overdue periodic reviews and open findings."""
    today = timezone.localdate()
    models = RegisteredModel.objects.all()
    return DemoFigures(
        models=models.count(),
        in_production=models.filter(status=LifecycleStatus.PRODUCTION).count(),
        pending_requests=ApprovalRequest.objects.filter(status=RequestStatus.PENDING).count(),
        open_incidents=Incident.objects.filter(status__in=ACTIVE_STATUSES).count(),
        overdue_reviews=models.exclude(status=LifecycleStatus.RETIRED)
        .filter(next_review_date__lt=today)
        .count(),
        open_findings=Finding.objects.filter(status=FindingStatus.OPEN).count(),
    )
