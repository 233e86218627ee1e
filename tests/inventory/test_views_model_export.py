"""The inventory CSV export for people and programs: names and labels next to usernames and
codes, times in the reader's zone next to ISO UTC, the earlier headings kept."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from apps.inventory.models import RegisteredModel
from tests.factories import RegisteredModelFactory, UserFactory

EXPORT = reverse("inventory:model_export_csv")

#: The headings of the export before names and labels were added: programs read these.
EARLIER = [
    "slug",
    "name",
    "business_unit",
    "owner",
    "business_owner",
    "validator",
    "risk_tier",
    "eu_ai_act_class",
    "eu_annex_iii_point",
    "status",
    "origin",
    "vendor",
    "model_type",
    "algorithm",
    "purpose",
    "next_review_date",
    "updated_at",
]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _table(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def credit(db):
    owner = UserFactory(username="mchen", first_name="Maya", last_name="Chen")
    business_owner = UserFactory(username="hbrooks", first_name="Helen", last_name="Brooks")
    model = RegisteredModelFactory(
        slug="credit",
        name="Retail credit scoring",
        owner=owner,
        business_owner=business_owner,
        risk_tier=1,
        eu_ai_act_class="high_risk",
        eu_annex_iii_point="5b",
        status="production",
        origin="in_house",
        model_type="classification",
        next_review_date=dt.date(2026, 9, 30),
    )
    moment = dt.datetime(2026, 7, 3, 8, 15, tzinfo=dt.UTC)
    RegisteredModel.objects.filter(pk=model.pk).update(updated_at=moment)
    return model


def test_it_names_people_and_labels_codes_beside_what_programs_read(client, viewer, credit):
    client.force_login(viewer)
    row = next(r for r in _table(client.get(EXPORT)) if r["slug"] == "credit")
    assert row["owner_name"] == "Maya Chen" and row["owner"] == "mchen"
    assert row["business_owner_name"] == "Helen Brooks" and row["business_owner"] == "hbrooks"
    assert row["validator_name"] == "" and row["validator"] == ""
    assert row["risk_tier_label"] == "Tier 1 (high)" and row["risk_tier"] == "1"
    assert row["eu_ai_act_class_label"] == "High-risk (Annex III)"
    assert row["eu_ai_act_class"] == "high_risk"
    assert row["status_label"] == "Production" and row["status"] == "production"
    assert row["origin_label"] == "In-house" and row["origin"] == "in_house"
    assert row["model_type_label"] == "Classification"
    assert row["business_unit_code"] == credit.business_unit.code
    assert row["next_review"] == "30 Sep 2026" and row["next_review_date"] == "2026-09-30"


def test_a_person_without_a_full_name_is_shown_by_username(client, viewer, credit):
    credit.owner.first_name = credit.owner.last_name = ""
    credit.owner.save()
    client.force_login(viewer)
    row = next(r for r in _table(client.get(EXPORT)) if r["slug"] == "credit")
    assert row["owner_name"] == "mchen"


def test_an_unassessed_tier_says_so(client, viewer, credit):
    RegisteredModel.objects.filter(pk=credit.pk).update(risk_tier=None)
    client.force_login(viewer)
    row = next(r for r in _table(client.get(EXPORT)) if r["slug"] == "credit")
    assert row["risk_tier_label"] == "Not assessed" and row["risk_tier"] == ""


def test_times_are_in_the_readers_zone_and_in_iso_utc(client, viewer, credit):
    viewer.timezone = "Europe/Stockholm"
    viewer.save()
    client.force_login(viewer)
    row = next(r for r in _table(client.get(EXPORT)) if r["slug"] == "credit")
    assert row["updated"] == "3 Jul 2026, 10:15 CEST"
    assert row["updated_at"] == "2026-07-03T08:15:00+00:00"


def test_every_earlier_heading_is_kept_with_its_values(client, viewer, credit):
    client.force_login(viewer)
    table = _table(client.get(EXPORT))
    assert set(EARLIER) <= set(table[0])
    row = next(r for r in table if r["slug"] == "credit")
    assert row["owner"] == "mchen" and row["business_unit"] == credit.business_unit.name


def test_names_and_labels_add_no_query_per_row(client, viewer, django_assert_max_num_queries):
    for i in range(25):
        owner = UserFactory(first_name=f"Person{i}", last_name="Owner")
        RegisteredModelFactory(slug=f"m-{i}", owner=owner, business_owner=owner)
    client.force_login(viewer)
    with django_assert_max_num_queries(8):
        table = _table(client.get(EXPORT))
    assert len(table) == 25
    assert all(r["owner_name"].endswith(" Owner") for r in table)
