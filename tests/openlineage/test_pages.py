"""The administrators' OpenLineage pages: jobs (unmapped first), mapping a job (which applies
its stored events), naming rules; their query counts do not grow with the data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.openlineage import services
from apps.openlineage.models import LineageEvent, LineageJob, NamingRule
from tests.factories import RegisteredModelFactory
from tests.openlineage.events import as_dict, dataset, run_event

pytestmark = pytest.mark.django_db
JOBS = reverse("openlineage:job_list")
RULES = reverse("openlineage:rule_list")


def receive(user, **kw):
    kw.setdefault("inputs", [dataset("s3://lake", "a.parquet")])
    return services.lineage_event_receive(actor=user, event=as_dict(run_event(**kw)))[0]


def test_the_job_list_shows_waiting_jobs_first(client, admin_user, model_owner, owned_model):
    receive(model_owner, job="a.mapped", model="owned-model")
    receive(model_owner, job="z.waiting")
    client.force_login(admin_user)

    body = client.get(JOBS).content.decode()

    assert body.index("z.waiting") < body.index("a.mapped")
    assert "1 waiting for a model" in body
    only_waiting = client.get(JOBS, {"unmapped": "1"}).content.decode()
    assert "z.waiting" in only_waiting and "a.mapped" not in only_waiting


def test_mapping_a_job_applies_its_stored_events(client, admin_user, model_owner, owned_model):
    event = receive(model_owner, job="nightly.train")
    client.force_login(admin_user)
    url = reverse("openlineage:job_detail", args=[event.job_id])

    response = client.post(url, {"model": "owned-model"}, follow=True)

    assert response.status_code == 200
    assert "1 stored event(s) applied" in response.content.decode()
    assert LineageJob.objects.get().model == owned_model
    assert LineageEvent.objects.get().status == "applied"


def test_mapping_to_an_unknown_model_says_so(client, admin_user, model_owner):
    event = receive(model_owner, job="nightly.train")
    client.force_login(admin_user)

    response = client.post(
        reverse("openlineage:job_detail", args=[event.job_id]), {"model": "nope"}
    )

    assert response.status_code == 200
    assert "No model has the slug “nope”." in response.content.decode()
    assert LineageJob.objects.get().model is None


def test_a_rule_is_added_and_removed_from_its_page(client, admin_user, model_owner, owned_model):
    receive(model_owner, job="credit.train")
    client.force_login(admin_user)

    response = client.post(
        RULES,
        {
            "namespace_pattern": "*",
            "job_pattern": "credit.*",
            "model": "owned-model",
            "position": 10,
        },
        follow=True,
    )

    assert "it mapped 1 waiting job(s)" in response.content.decode()
    rule = NamingRule.objects.get()
    client.post(reverse("openlineage:rule_delete", args=[rule.pk]))
    assert not NamingRule.objects.exists()
    assert LineageJob.objects.get().model == owned_model  # jobs keep their model
    assert AuditEvent.objects.filter(object_type="openlineage.namingrule", action="delete").exists()


def test_a_duplicate_rule_is_refused_on_the_form(client, admin_user, owned_model):
    services.naming_rule_create(actor=admin_user, job_pattern="credit.*", model=owned_model)
    client.force_login(admin_user)

    response = client.post(
        RULES,
        {
            "namespace_pattern": "*",
            "job_pattern": "credit.*",
            "model": "owned-model",
            "position": 1,
        },
    )

    assert "already exists" in response.content.decode()
    assert NamingRule.objects.count() == 1


def test_user_text_is_escaped(client, admin_user, model_owner):
    receive(model_owner, job="<script>alert(1)</script>")
    client.force_login(admin_user)

    body = client.get(JOBS).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_job_pages_do_not_grow_with_jobs_or_events(
    client, admin_user, model_owner, owned_model, django_assert_max_num_queries
):
    def make(n: int, start: int) -> None:
        for i in range(start, start + n):
            receive(model_owner, job=f"job.{i}")
            receive(model_owner, job=f"mapped.{i}", model="owned-model")

    make(1, 0)
    client.force_login(admin_user)
    detail = reverse("openlineage:job_detail", args=[LineageJob.objects.first().pk])
    with django_assert_max_num_queries(20) as one:
        assert client.get(JOBS).status_code == 200
    with django_assert_max_num_queries(20) as one_detail:
        assert client.get(detail).status_code == 200
    make(4, 1)
    for i in range(5):
        receive(model_owner, job="job.0", run_id=None, when=f"2026-11-2{i}T10:00:00Z")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(JOBS).status_code == 200
    with django_assert_max_num_queries(len(one_detail.captured_queries)):
        assert client.get(detail).status_code == 200


def test_the_rule_page_does_not_grow_with_rules(client, admin_user, django_assert_max_num_queries):
    model = RegisteredModelFactory()
    services.naming_rule_create(actor=admin_user, job_pattern="a.*", model=model)
    client.force_login(admin_user)
    with django_assert_max_num_queries(20) as one:
        assert client.get(RULES).status_code == 200
    for i in range(5):
        services.naming_rule_create(
            actor=admin_user, job_pattern=f"b{i}.*", model=RegisteredModelFactory()
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(RULES).status_code == 200
