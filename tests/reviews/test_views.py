"""Review and finding pages: lists at constant query counts, the model's Reviews tab, forms."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.reviews.choices import FindingStatus, ReviewStatus
from apps.reviews.models import Finding, Review
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db


def _rows(n, validator, owner):
    for i in range(n):
        model = RegisteredModelFactory(owner=owner, next_review_date=timezone.localdate())
        Review.objects.create(model=model, reviewer=validator, scope=f"s{i}", created_by=validator)
        Finding.objects.create(
            model=model,
            title=f"f{i}",
            severity="low",
            description="d",
            owner=owner,
            due_date=timezone.localdate() - dt.timedelta(days=1),
            created_by=validator,
        )


@pytest.mark.parametrize("name", ["reviews:review_list", "reviews:finding_list"])
def test_lists_cost_the_same_queries_for_3_or_30_rows(
    name, client, validator, model_owner, django_assert_max_num_queries
):
    client.force_login(validator)
    _rows(3, validator, model_owner)
    with django_assert_max_num_queries(20) as few:
        assert client.get(reverse(name)).status_code == 200
    _rows(27, validator, model_owner)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(name)).status_code == 200


def test_the_model_tab_flags_overdue_findings_at_constant_queries(
    client, validator, model_owner, tier2_model, django_assert_max_num_queries
):
    client.force_login(validator)
    url = reverse("reviews:model_reviews", args=[tier2_model.slug])

    def add(n):
        for i in range(n):
            Finding.objects.create(
                model=tier2_model,
                title=f"f{i}",
                severity="high",
                description="d",
                owner=model_owner,
                due_date=timezone.localdate() - dt.timedelta(days=2),
                created_by=validator,
            )

    add(3)
    with django_assert_max_num_queries(25) as few:
        response = client.get(url)
    assert b"3 overdue" in response.content
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_a_validator_opens_and_submits_a_review(client, validator, tier2_model):
    client.force_login(validator)
    response = client.post(
        reverse("reviews:review_create"), {"model": tier2_model.slug, "scope": "Annual"}
    )
    review = Review.objects.get()
    assert response.status_code == 302 and response["Location"] == review.get_absolute_url()
    client.post(
        reverse("reviews:review_edit", args=[review.pk]),
        {"reviewer": validator.pk, "scope": "Annual", "outcome": "satisfactory", "notes": "Fine"},
    )
    client.post(reverse("reviews:review_submit", args=[review.pk]), {"justification": ""})
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED


def test_a_finding_owner_sees_only_the_evidence_fields(client, validator, model_owner, tier2_model):
    finding = Finding.objects.create(
        model=tier2_model,
        title="t",
        severity="low",
        description="d",
        owner=model_owner,
        due_date=timezone.localdate(),
        created_by=validator,
    )
    client.force_login(model_owner)
    page = client.get(reverse("reviews:finding_edit", args=[finding.pk]))
    assert list(page.context["form"].fields) == ["evidence", "evidence_links"]
    client.post(
        reverse("reviews:finding_edit", args=[finding.pk]),
        {"evidence": "Fixed in 2.1", "evidence_links": "https://ci/run/1"},
    )
    client.post(reverse("reviews:finding_status", args=[finding.pk]), {"status": "remediated"})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.REMEDIATED


def test_the_dashboard_counts_overdue_findings(client, validator, model_owner):
    _rows(2, validator, model_owner)
    client.force_login(validator)
    response = client.get(reverse("dashboard:home"))
    assert response.context["overdue_findings"] == 2
    assert b"Findings overdue" in response.content


def test_the_reviews_page_lists_the_first_reviews_due_and_counts_the_rest(
    client, validator, model_owner, django_assert_max_num_queries
):
    from apps.reviews.selectors import DUE_SHOWN

    today = timezone.localdate()
    for i in range(DUE_SHOWN + 5):
        RegisteredModelFactory(
            name=f"Late {i:02d}",
            owner=model_owner,
            next_review_date=today - dt.timedelta(days=40 - i),
        )
    RegisteredModelFactory(
        name="Soon", owner=model_owner, next_review_date=today + dt.timedelta(days=3)
    )
    client.force_login(validator)

    with django_assert_max_num_queries(12):
        page = client.get(reverse("reviews:review_list")).content.decode()

    assert "Late 00" in page and f"Late {DUE_SHOWN - 1:02d}" in page
    assert f"Late {DUE_SHOWN:02d}" not in page and "Soon" not in page
    assert f"{DUE_SHOWN + 5} overdue and 1 due in all" in page
    assert f"All {DUE_SHOWN + 6} in the inventory" in page
    assert "review_due_before=" in page
