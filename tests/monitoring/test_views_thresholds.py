"""Threshold pages: the model's Thresholds tab, drafting, editing, submitting, revising."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from apps.monitoring import services
from apps.monitoring.choices import ThresholdStatus
from tests.factories import RegisteredModelFactory
from tests.monitoring.factories import ThresholdFactory

pytestmark = pytest.mark.django_db


def _url(name, threshold):
    return reverse(name, kwargs={"slug": threshold.model.slug, "pk": threshold.pk})


def test_the_model_page_has_a_thresholds_tab(client, viewer, owned_model):
    client.force_login(viewer)
    response = client.get(reverse("inventory:model_detail", args=[owned_model.slug]))
    assert (
        reverse("monitoring:threshold_list", args=[owned_model.slug]) in response.content.decode()
    )


def test_the_tab_lists_thresholds_in_constant_queries(
    client, viewer, owned_model, auc, django_assert_max_num_queries
):
    client.force_login(viewer)
    url = reverse("monitoring:threshold_list", args=[owned_model.slug])
    ThresholdFactory.create_batch(3, model=owned_model, metric=auc)
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    ThresholdFactory.create_batch(30, model=owned_model, metric=auc)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('id="threshold-') == 33


def test_expired_thresholds_are_flagged_on_the_tab(client, viewer, owned_model, auc):
    ThresholdFactory(model=owned_model, metric=auc, status=ThresholdStatus.EXPIRED)
    client.force_login(viewer)
    response = client.get(reverse("monitoring:threshold_list", args=[owned_model.slug]))
    assert "1 expired threshold" in response.content.decode()


def test_the_owner_drafts_a_threshold(client, model_owner, owned_model, auc):
    client.force_login(model_owner)
    review_by = datetime.date.today() + datetime.timedelta(days=30)
    response = client.post(
        reverse("monitoring:threshold_create", args=[owned_model.slug]),
        {
            "metric": auc.name,
            "warning_bound": "0.75",
            "critical_bound": "0.7",
            "evaluation": "mean",
            "window_days": "7",
            "min_samples": "100",
            "rationale": "Agreed.",
            "review_by": review_by.isoformat(),
        },
    )
    threshold = owned_model.thresholds.get()
    assert response.status_code == 302 and response["Location"] == threshold.get_absolute_url()
    assert threshold.direction == "below" and threshold.status == ThresholdStatus.DRAFT


def test_bad_bounds_are_shown_on_the_field(client, model_owner, owned_model, auc):
    client.force_login(model_owner)
    response = client.post(
        reverse("monitoring:threshold_create", args=[owned_model.slug]),
        {
            "metric": auc.name,
            "direction": "below",
            "warning_bound": "0.7",
            "critical_bound": "0.8",
            "evaluation": "latest",
            "min_samples": "1",
            "rationale": "x",
            "review_by": (datetime.date.today() + datetime.timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "must be below the warning bound" in str(
        response.context["form"]["critical_bound"].errors
    )
    assert not owned_model.thresholds.exists()


def test_the_detail_page_compares_with_what_applies(
    client, business_owner, draft, django_assert_max_num_queries
):
    client.force_login(business_owner)
    with django_assert_max_num_queries(15):
        response = client.get(draft.get_absolute_url())
    body = response.content.decode()
    assert "Against what applies now" in body and "warning 0.75, critical 0.7" in body
    assert "Submit for sign-off" not in body  # business owners sign, they do not submit


def test_submit_then_edit_returns_to_draft(client, model_owner, draft):
    client.force_login(model_owner)
    client.post(_url("monitoring:threshold_submit", draft), {"justification": "Please sign."})
    draft.refresh_from_db()
    assert draft.status == ThresholdStatus.PENDING_SIGNOFF
    data = {
        "metric": draft.metric.name,
        "direction": "below",
        "warning_bound": "0.8",
        "critical_bound": "0.7",
        "evaluation": "latest",
        "min_samples": "1",
        "rationale": draft.rationale,
        "review_by": draft.review_by.isoformat(),
    }
    response = client.post(_url("monitoring:threshold_edit", draft), data, follow=True)
    draft.refresh_from_db()
    assert draft.status == ThresholdStatus.DRAFT and draft.warning_bound == 0.8
    assert "request went stale" in response.content.decode()


def test_an_active_threshold_is_revised_not_edited(client, model_owner, draft, activate):
    active = activate(draft)
    client.force_login(model_owner)
    response = client.get(_url("monitoring:threshold_edit", active))
    assert response.status_code == 302 and response["Location"] == active.get_absolute_url()
    response = client.post(_url("monitoring:threshold_revise", active))
    revision = active.revisions.get()
    assert response["Location"] == _url("monitoring:threshold_edit", revision)
    active.refresh_from_db()
    assert active.status == ThresholdStatus.ACTIVE


def test_a_refused_submit_shows_the_reason(client, model_owner, draft):
    services.threshold_submit(actor=model_owner, threshold=draft)
    client.force_login(model_owner)
    response = client.post(_url("monitoring:threshold_submit", draft), follow=True)
    assert "only a draft is submitted" in response.content.decode()


def test_other_models_thresholds_are_hidden(client, model_owner, auc):
    foreign = ThresholdFactory(model=RegisteredModelFactory(), metric=auc)
    client.force_login(model_owner)
    assert client.get(foreign.get_absolute_url()).status_code == 404


# --- the metrics offered are the model's -------------------------------------------------


def test_the_metric_choices_are_the_models_own(
    client, model_owner, owned_model, auc, admin_user, django_assert_max_num_queries
):
    from tests.factories import ModelVersionFactory
    from tests.monitoring.factories import MetricFactory
    from tests.monitoring.observations import batch_for, observe

    recall = MetricFactory(name="recall", created_by=admin_user, unit="ratio")
    for n in range(30):
        MetricFactory(name=f"other-model-metric-{n}", created_by=admin_user)
    version = ModelVersionFactory(model=owned_model)
    observe(version, recall, [0.8, 0.7], batch=batch_for(owned_model, admin_user))
    client.force_login(model_owner)
    url = reverse("monitoring:threshold_create", args=[owned_model.slug])
    with django_assert_max_num_queries(12):
        response = client.get(url)
    choices = response.context["form"].fields["metric"].widget.choices
    assert choices == [("", "Choose a metric…"), ("recall", "recall (ratio)")]
    page = response.content.decode()
    assert "other-model-metric" not in page and "data-allow-create" in page
    assert "---------" not in page


def test_a_defined_metric_not_recorded_yet_is_named_by_typing_it(
    client, model_owner, owned_model, auc
):
    client.force_login(model_owner)
    url = reverse("monitoring:threshold_create", args=[owned_model.slug])
    data = {
        "warning_bound": "0.75",
        "critical_bound": "0.7",
        "evaluation": "mean",
        "window_days": "7",
        "min_samples": "100",
        "rationale": "Agreed.",
        "review_by": (datetime.date.today() + datetime.timedelta(days=30)).isoformat(),
    }
    unknown = client.post(url, {**data, "metric": "no-such-metric"})
    assert unknown.status_code == 200
    assert "No metric named “no-such-metric” is defined" in unknown.content.decode()
    assert "no-such-metric" in dict(unknown.context["form"].fields["metric"].widget.choices)
    response = client.post(url, {**data, "metric": "auc"})
    assert response.status_code == 302
    assert owned_model.thresholds.get().metric == auc
