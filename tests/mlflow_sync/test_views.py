"""The pages of the MLflow sync: who sees them, the sync button, claiming, and query counts
that stay the same whatever the number of connections, syncs or discovered models."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core import roles
from apps.inventory import accountability
from apps.inventory.services import model_version_register, registered_model_discover
from apps.mlflow_sync.choices import RunTrigger
from apps.mlflow_sync.models import ModelLink, SyncRun, VersionLink
from tests.factories import UserFactory
from tests.mlflow_sync.conftest import make_connection

pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:18449"


@pytest.fixture(autouse=True)
def _allow_a_test_host(settings):
    settings.MLGOV_EGRESS_ALLOW = ["127.0.0.1:18449"]


@pytest.fixture
def connection(admin_user, service_user, unit):
    return make_connection(admin_user, service_user, unit, URL)


def _discover(service_user, unit, n):
    return [
        registered_model_discover(
            actor=service_user,
            slug=f"found-{i}",
            name=f"Found model {i}",
            source="MLflow (Bank registry)",
            business_unit=unit,
        )
        for i in range(n)
    ]


def _runs(connection, n):
    SyncRun.objects.bulk_create(
        SyncRun(connection=connection, trigger=RunTrigger.SCHEDULE, status="done", seen=i)
        for i in range(n)
    )


def test_the_sync_button_queues_a_sync_for_administrators_only(
    client, admin_user, validator, connection
):
    client.force_login(validator)
    page = client.get(connection.get_absolute_url())
    assert page.status_code == 200 and b"sync-button" not in page.content
    assert (
        client.post(reverse("mlflow_sync:connection_sync", args=[connection.pk])).status_code == 403
    )
    client.force_login(admin_user)
    assert b"sync-button" in client.get(connection.get_absolute_url()).content
    answer = client.post(reverse("mlflow_sync:connection_sync", args=[connection.pk]))
    run = SyncRun.objects.get()
    assert answer.status_code == 302 and answer.url == run.get_absolute_url()
    assert run.requested_by == admin_user and run.trigger == RunTrigger.MANUAL


def test_the_api_starts_a_sync_and_reads_it(client, admin_user, connection):
    client.force_login(admin_user)
    answer = client.post(reverse("api:mlflow-connection-sync", args=[connection.pk]))
    assert answer.status_code == 202
    run = answer.json()
    assert run["status"] == "queued" and run["connection"] == "Bank registry"
    read = client.get(reverse("api:mlflow-sync-detail", args=[run["id"]]))
    assert read.status_code == 200 and read.json()["trigger"] == "api"


def test_a_model_owner_finds_and_claims_a_discovered_model(
    client, model_owner, business_owner, service_user, unit
):
    (model,) = _discover(service_user, unit, 1)
    client.force_login(model_owner)
    listed = client.get(reverse("mlflow_sync:discovered_list"))
    assert b"Found model 0" in listed.content
    url = reverse("mlflow_sync:model_claim", args=[model.slug])
    refused = client.post(url, {"purpose": "", "business_owner": business_owner.pk})
    assert refused.status_code == 200 and b"This field is required" in refused.content
    answer = client.post(url, {"purpose": "Scores loans.", "business_owner": business_owner.pk})
    assert answer.status_code == 302 and answer.url == model.get_absolute_url()
    model.refresh_from_db()
    assert model.owner == model_owner and not model.awaits_claim
    assert b"You now own Found model 0" in client.get(answer.url).content  # its own page
    # Claimed: it leaves the list, and the claim page answers 404.
    assert b"Found model 0" not in client.get(reverse("mlflow_sync:discovered_list")).content
    assert client.get(url).status_code == 404


def test_the_claim_offers_the_business_owners_the_claim_accepts(
    client, model_owner, business_owner, viewer, service_user, unit
):
    (model,) = _discover(service_user, unit, 1)
    gone = UserFactory(username="gone.bo", roles=[roles.BUSINESS_OWNER], is_active=False)
    client.force_login(model_owner)
    url = reverse("mlflow_sync:model_claim", args=[model.slug])
    offered = client.get(url).context["form"].fields["business_owner"].queryset
    assert set(offered) == {business_owner}
    for person in (viewer, gone, model_owner):
        refused = client.post(url, {"purpose": "Scores loans.", "business_owner": person.pk})
        assert refused.context["form"].errors["business_owner"] == [
            accountability.choose(accountability.BUSINESS_OWNER)
        ]
    model.refresh_from_db()
    assert model.awaits_claim


def test_the_inventory_flags_discovered_models_and_filters_them(
    client, validator, service_user, unit
):
    _discover(service_user, unit, 1)
    client.force_login(validator)
    page = client.get(reverse("inventory:model_list"), {"discovered": "true"})
    assert b"Found model 0" in page.content and b">discovered</span>" in page.content
    page = client.get(reverse("inventory:model_list"), {"discovered": "false"})
    assert b"Found model 0" not in page.content


@pytest.mark.parametrize("count", [1, 30])
def test_the_pages_read_a_constant_number_of_queries(
    client, admin_user, service_user, unit, connection, count, django_assert_max_num_queries
):
    _discover(service_user, unit, count)
    _runs(connection, count)
    client.force_login(admin_user)
    pages = [
        reverse("mlflow_sync:connection_list"),
        connection.get_absolute_url(),
        SyncRun.objects.first().get_absolute_url(),
        reverse("mlflow_sync:discovered_list"),
        reverse("mlflow_sync:model_claim", args=["found-0"]),
    ]
    for url in pages:
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200, url


def _synced_version(service_user, unit, connection, *, tags: int):
    """A discovered model's version as a sync records it, with MLflow's words in it."""
    (model,) = _discover(service_user, unit, 1)
    version = model_version_register(
        actor=service_user,
        model=model,
        version="3",
        artifact_uri="mlflow-artifacts:/1/abc/artifacts/model",
        artifact_sha256="a" * 64,
    )
    link = ModelLink.objects.create(
        connection=connection, mlflow_name="fraud <b>scorer</b>", model=model
    )
    VersionLink.objects.create(
        model_link=link,
        mlflow_version="3",
        version=version,
        run_id="0123abcd",
        source="runs:/0123abcd/model",
        artifact_uri="mlflow-artifacts:/1/abc/artifacts/model",
        digest="a" * 64,
        signature={
            "inputs": [
                {"type": "double", "name": "<script>alert(1)</script>"},
                {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}},
            ],
            "outputs": [{"type": "long", "name": "label", "required": False}],
        },
        input_example='{"columns": ["income"], "data": [[1.0]]}',
        tags={f"team-{i}": f"<i>risk {i}</i>" for i in range(tags)},
        aliases=["champion", "<em>x</em>"],
    )
    return version


@pytest.mark.parametrize("tags", [1, 30])
def test_a_synced_version_shows_what_mlflow_says_escaped(
    client, validator, service_user, unit, connection, tags, django_assert_max_num_queries
):
    version = _synced_version(service_user, unit, connection, tags=tags)
    client.force_login(validator)
    # The version page's own budget (tests/inventory/test_views_versions.py), plus the link.
    with django_assert_max_num_queries(15):
        page = client.get(version.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="mlflow-heading"' in html
    assert "0123abcd" in html and "runs:/0123abcd/model" in html
    assert (
        'href="http://127.0.0.1:18449/#/models/fraud%20%3Cb%3Escorer%3C%2Fb%3E/versions/3"' in html
    )
    assert "fraud &lt;b&gt;scorer&lt;/b&gt; version 3" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "tensor float32 [-1, 4]" in html and "long (optional)" in html
    assert "&lt;i&gt;risk 0&lt;/i&gt;" in html and html.count('class="mono">team-') == tags
    assert ">champion</span>" in html and "&lt;em&gt;x&lt;/em&gt;" in html
    assert "Recorded (40 characters)" in html


def test_versions_not_from_a_sync_have_no_mlflow_section(
    client, validator, model_owner, service_user, unit, connection
):
    version = _synced_version(service_user, unit, connection, tags=0)
    VersionLink.objects.all().delete()
    client.force_login(validator)
    page = client.get(version.get_absolute_url())
    assert page.status_code == 200 and b"mlflow-heading" not in page.content
