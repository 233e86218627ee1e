"""Demo data of periodic reviews and findings, written through the services (so audited).

``seed_reviews`` is idempotent: it creates only what is missing. It needs the demo users
and models of ``seed_demo``; models or users that are absent are skipped.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.demo.data.reviews import FINDINGS, OVERDUE_REVIEW_MODEL, OVERDUE_REVIEW_SCOPE
from apps.inventory import services as inventory_services
from apps.inventory.models import RegisteredModel
from apps.reviews import services
from apps.reviews.models import Finding, Review


@transaction.atomic
def seed_reviews(*, today: date | None = None) -> dict[str, int]:
    """An open review of a model whose review is overdue, and open findings (one overdue).

    ``today`` (default: today) is the day the review and due dates are counted from; the
    demo's story passes the real day while its clock stands on an earlier one."""
    users = {u.username: u for u in User.objects.filter(is_active=True)}
    validator = users.get("validator")
    created = {"reviews": 0, "findings": 0}
    if validator is None:
        return created
    models = {m.slug: m for m in RegisteredModel.objects.all()}
    today = today or timezone.localdate()
    overdue = models.get(OVERDUE_REVIEW_MODEL)
    if overdue is not None and not Review.objects.filter(model=overdue).exists():
        if overdue.next_review_date is None or overdue.next_review_date >= today:
            inventory_services.model_set_next_review(
                actor=validator,
                model=overdue,
                next_review_date=today - timedelta(days=12),
                reason="Demo: the periodic review is overdue.",
            )
            overdue.refresh_from_db()
        services.review_create(actor=validator, model=overdue, scope=OVERDUE_REVIEW_SCOPE)
        created["reviews"] += 1
    for spec in FINDINGS:
        model, owner = models.get(spec.model), users.get(spec.owner)
        if model is None or owner is None:
            continue
        if Finding.objects.filter(model=model, title=spec.title).exists():
            continue
        services.finding_create(
            actor=validator,
            model=model,
            title=spec.title,
            severity=spec.severity,
            description=spec.description,
            owner=owner,
            due_date=today + timedelta(days=spec.due_in_days),
        )
        created["findings"] += 1
    return created
