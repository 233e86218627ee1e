"""The model inventory list: visibility, filters, sorting, HTMX partials, CSV export, queries."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from apps.inventory.choices import EUAIActClass, LifecycleStatus
from apps.inventory.views import csv_safe
from tests.factories import BusinessUnitFactory, RegisteredModelFactory, UserFactory

LIST = reverse("inventory:model_list")
EXPORT = reverse("inventory:model_export_csv")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_anonymous_users_go_to_login(client, db):
    response = client.get(LIST)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert client.get(EXPORT).status_code == 302


def test_users_without_a_role_are_refused(client, outsider):
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_a_viewer_sees_every_model(client, viewer, owned_model, foreign_model):
    client.force_login(viewer)
    response = client.get(LIST)
    assert response.status_code == 200
    assert b"Owned model" in response.content
    assert b"Foreign model" in response.content
    assert b"Register a model" not in response.content


def test_a_model_owner_sees_only_their_models(client, model_owner, owned_model, foreign_model):
    client.force_login(model_owner)
    response = client.get(LIST)
    assert b"Owned model" in response.content
    assert b"Foreign model" not in response.content
    assert b"Register a model" in response.content
    # The owner filter offers only owners of models the user can see.
    owner_choices = [str(c[1]) for c in response.context["form"].fields["owner"].choices]
    assert "oz.otherowner" not in owner_choices


def test_it_filters_by_tier_status_class_unit_owner_and_search(client, validator):
    logistics = BusinessUnitFactory(name="Logistics", code="logistics")
    finance = BusinessUnitFactory(name="Finance", code="finance")
    alice = UserFactory(username="alice", roles=["model_owner"])
    RegisteredModelFactory(
        name="Delivery predictor",
        business_unit=logistics,
        owner=alice,
        risk_tier=2,
        status=LifecycleStatus.VALIDATION,
    )
    RegisteredModelFactory(
        name="Credit score",
        business_unit=finance,
        risk_tier=1,
        eu_ai_act_class=EUAIActClass.HIGH_RISK,
        eu_annex_iii_point="5(b)",
    )
    client.force_login(validator)

    def names(query):
        return [m.name for m in client.get(LIST, query).context["models"]]

    assert names({"risk_tier": "1"}) == ["Credit score"]
    assert names({"status": "validation"}) == ["Delivery predictor"]
    assert names({"eu_ai_act_class": "high_risk"}) == ["Credit score"]
    assert names({"business_unit": "logistics"}) == ["Delivery predictor"]
    assert names({"owner": "alice"}) == ["Delivery predictor"]
    assert names({"q": "credit"}) == ["Credit score"]
    assert names({"risk_tier": ["1", "2"], "ordering": "-name"}) == [
        "Delivery predictor",
        "Credit score",
    ]


def test_it_sorts_by_a_column_and_reverses_on_the_second_click(client, viewer):
    for name in ("Beta", "Alpha", "Gamma"):
        RegisteredModelFactory(name=name)
    client.force_login(viewer)
    response = client.get(LIST, {"ordering": "-name"})
    assert [m.name for m in response.context["models"]] == ["Gamma", "Beta", "Alpha"]
    assert b'aria-sort="descending"' in response.content
    assert b'data-sort="name"' in response.content


def test_it_paginates_by_25(client, viewer):
    owner, bo = UserFactory(), UserFactory()
    unit = BusinessUnitFactory()
    for i in range(27):
        RegisteredModelFactory(name=f"M{i:02d}", owner=owner, business_owner=bo, business_unit=unit)
    client.force_login(viewer)
    first = client.get(LIST)
    assert len(first.context["models"]) == 25
    second = client.get(LIST, {"page": 2})
    assert [m.name for m in second.context["models"]] == ["M25", "M26"]


def test_htmx_requests_get_only_the_results(client, viewer, owned_model):
    client.force_login(viewer)
    response = client.get(LIST, {"q": "owned"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="model-table"' in response.content
    assert "HX-Request" in response["Vary"]
    # The plain GET form works without JavaScript too.
    assert b'method="get"' in client.get(LIST).content


def test_the_csv_export_keeps_the_filters(client, viewer):
    RegisteredModelFactory(name="Tier one", slug="tier-one", risk_tier=1)
    RegisteredModelFactory(name="Tier three", slug="tier-three", risk_tier=3)
    client.force_login(viewer)
    page = client.get(LIST, {"risk_tier": "1"})
    assert f'{EXPORT}?risk_tier=1"'.encode() in page.content
    response = client.get(EXPORT, {"risk_tier": "1"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:2] == ["slug", "name"]
    assert [r[0] for r in rows[1:]] == ["tier-one"]


def test_the_csv_export_neutralises_spreadsheet_formulas(client, viewer):
    RegisteredModelFactory(name='=HYPERLINK("http://evil")', purpose="+1 -2 @SUM")
    client.force_login(viewer)
    rows = _csv(client.get(EXPORT))
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert rows[1][rows[0].index("purpose")] == "'+1 -2 @SUM"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_csv_safe_prefixes_formula_starts(value):
    assert csv_safe(value) == "'" + value


def test_csv_safe_leaves_plain_values(db):
    assert csv_safe("credit-scoring") == "credit-scoring"
    assert csv_safe(None) == ""


def test_the_csv_export_is_restricted_to_visible_models(
    client, model_owner, owned_model, foreign_model
):
    client.force_login(model_owner)
    rows = _csv(client.get(EXPORT))
    assert [r[0] for r in rows[1:]] == ["owned-model"]


def _models(count: int) -> None:
    owners = [UserFactory() for _ in range(3)]
    units = [BusinessUnitFactory() for _ in range(3)]
    for i in range(count):
        RegisteredModelFactory(
            owner=owners[i % 3],
            business_owner=owners[(i + 1) % 3],
            business_unit=units[i % 3],
            risk_tier=1 + i % 3,
        )


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_does_not_grow_with_rows(
    client, viewer, rows, django_assert_max_num_queries
):
    _models(rows)
    client.force_login(viewer)
    with django_assert_max_num_queries(8):
        response = client.get(LIST, {"ordering": "owner"})
    assert response.status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(LIST, {"risk_tier": "1"}, HTTP_HX_REQUEST="true").status_code == 200


@pytest.mark.parametrize("rows", [3, 30])
def test_the_export_query_count_does_not_grow_with_rows(
    client, viewer, rows, django_assert_max_num_queries
):
    _models(rows)
    client.force_login(viewer)
    with django_assert_max_num_queries(8):
        rows_out = _csv(client.get(EXPORT))
    assert len(rows_out) == rows + 1


def test_a_long_export_streams_in_chunks_with_every_row_once(client, viewer, monkeypatch):
    from apps.inventory.views import models as model_views

    _models(7)
    monkeypatch.setattr(model_views, "CSV_CHUNK_ROWS", 3)
    client.force_login(viewer)
    chunks = [chunk.decode() for chunk in client.get(EXPORT).streaming_content]
    assert len(chunks) == 3  # rows 1-3 with the header, rows 4-6, row 7
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows[0][0] == "slug" and len(rows) == 8
    assert len({row[0] for row in rows[1:]}) == 7
