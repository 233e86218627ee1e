"""Keyset pages of the batch list (page and API): every batch once, newest first, links
both ways, and a late page costs the queries of the first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.monitoring import keyset
from apps.monitoring.models import IngestionBatch

pytestmark = pytest.mark.django_db

PAGE = reverse("monitoring:batch_list")
API = reverse("api:ingestion-list")


def make(n, user):
    now = timezone.now()
    batches = IngestionBatch.objects.bulk_create(
        IngestionBatch(
            source="api",
            file_format="csv",
            sha256=f"{i:064d}",
            status="failed",
            created_by=user,
            # Pairs share a time: the key's second column orders them.
            created_at=now - timedelta(minutes=i // 2),
        )
        for i in range(n)
    )
    return sorted(batches, key=lambda b: (b.created_at, b.pk), reverse=True)


def _ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/monitoring/ingestion/(\d+)/"', body)]


def _link(body: str, rel: str) -> str | None:
    found = re.search(rf'href="(\?[^"]+)" rel="{rel}"', body)
    return found and found.group(1).replace("&amp;", "&")


def test_the_page_walks_every_batch_both_ways(client, validator, model_owner):
    expected = [b.pk for b in make(120, model_owner)]
    client.force_login(validator)
    seen, pages, link = [], [], ""
    while True:
        body = client.get(PAGE + link).content.decode()
        pages.append(body)
        seen += _ids(body)
        link = _link(body, "next")
        if not link:
            break
    assert seen == expected and len(pages) == 3
    back = _link(pages[-1], "prev")
    assert _ids(client.get(PAGE + back).content.decode()) == expected[50:100]
    assert "Newest" in pages[-1] and _link(pages[0], "prev") is None


def test_a_late_page_costs_the_queries_of_the_first(
    client, validator, model_owner, django_assert_max_num_queries
):
    batches = make(300, model_owner)
    client.force_login(validator)
    with django_assert_max_num_queries(12) as first:
        assert client.get(PAGE).status_code == 200
    queries = len(first.captured_queries)
    late = keyset.encode(keyset.Key(batches[249].created_at, batches[249].pk))
    with django_assert_max_num_queries(queries):
        body = client.get(f"{PAGE}?after={late}").content.decode()
    assert _ids(body) == [b.pk for b in batches[250:]]


def test_a_broken_cursor_gives_the_first_page(client, validator, model_owner):
    batches = make(3, model_owner)
    client.force_login(validator)
    body = client.get(f"{PAGE}?after=%%%").content.decode()
    assert _ids(body) == [b.pk for b in batches]


def test_the_api_pages_by_cursor(validator, model_owner):
    expected = [b.pk for b in make(120, model_owner)]
    api = APIClient()
    api.force_authenticate(validator)
    seen, link = [], API
    while link:
        body = api.get(link).json()
        seen += [b["id"] for b in body["results"]]
        link = body["next"]
        assert link is None or "cursor=" in link
    assert seen == expected
