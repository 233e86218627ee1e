"""The intake reads gzip bodies as OpenLineage transports send them, within the upload limit."""

from __future__ import annotations

import gzip
import json

import pytest
from django.urls import reverse
from rest_framework.exceptions import ParseError

from apps.core.api.exceptions import PayloadTooLarge
from apps.openlineage.api.parsers import gunzip_capped
from tests.openlineage.events import as_dict, run_event


def test_it_inflates_a_gzip_body():
    assert gunzip_capped(gzip.compress(b'{"a": 1}'), limit=100) == b'{"a": 1}'


def test_it_refuses_a_body_that_inflates_past_the_limit():
    bomb = gzip.compress(b"0" * 1_000_000)
    assert len(bomb) < 2000
    with pytest.raises(PayloadTooLarge):
        gunzip_capped(bomb, limit=10_000)


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(b'{"a": 1}', mtime=0)[:-8]],
    ids=["not gzip", "cut short"],
)
def test_it_refuses_a_corrupt_or_cut_body(body):
    with pytest.raises(ParseError):
        gunzip_capped(body, limit=10_000)


@pytest.mark.django_db
def test_the_intake_takes_a_gzip_event(client, model_owner):
    client.force_login(model_owner)
    body = gzip.compress(json.dumps(as_dict(run_event())).encode())

    response = client.post(
        reverse("api:openlineage-intake"),
        body,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "unmapped"
