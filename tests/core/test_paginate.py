"""KeysFirstPaginator: late pages read their keys first, then their rows, in the same order."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import views
from apps.inventory.models import RegisteredModel
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def models(monkeypatch):
    monkeypatch.setattr(views, "KEYS_FIRST_AFTER", 4)
    for i in range(11):
        RegisteredModelFactory(name=f"Model {i % 4} {i:02d}")
    return RegisteredModel.objects.select_related("owner", "business_unit").order_by("name")


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_every_page_holds_what_plain_offsets_give(models, number):
    plain = Paginator(models, 3, orphans=1).page(number)
    keyed = views.KeysFirstPaginator(models, 3, orphans=1).page(number)
    assert [m.pk for m in keyed.object_list] == [m.pk for m in plain.object_list]
    assert keyed.has_next() == plain.has_next()


def test_a_late_page_reads_keys_then_rows(models):
    paginator = views.KeysFirstPaginator(models, 3)
    assert paginator.count == 11
    with CaptureQueriesContext(connection) as ctx:
        page = paginator.page(3)
        names = [m.owner.username for m in page.object_list]
    assert len(names) == 3
    keys, rows = (q["sql"] for q in ctx.captured_queries)
    assert "OFFSET 6" in keys and "accounts_user" not in keys
    assert "accounts_user" in rows and "OFFSET" not in rows


def test_an_early_page_is_one_query(models):
    paginator = views.KeysFirstPaginator(models, 3)
    assert paginator.count == 11
    with CaptureQueriesContext(connection) as ctx:
        list(paginator.page(1).object_list)
    assert len(ctx.captured_queries) == 1
