"""Webhook signatures and the retry schedule (pure functions)."""

import hashlib
import hmac

from apps.notifications import signing, webhooks


def test_the_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"event": "review.due"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signing.sign(body, "s3cret") == f"sha256={expected}"


def test_it_verifies_a_good_signature_in_constant_time():
    body = b'{"a": 1}'
    header = signing.sign(body, "k")
    assert signing.verify(body, "k", header)
    assert hmac.compare_digest(header, "sha256=" + hmac.new(b"k", body, "sha256").hexdigest())


def test_it_rejects_a_changed_body_a_wrong_secret_or_no_header():
    body = b'{"a": 1}'
    header = signing.sign(body, "k")
    assert not signing.verify(b'{"a": 2}', "k", header)
    assert not signing.verify(body, "other", header)
    assert not signing.verify(body, "k", "")


def test_backoff_doubles_from_30_seconds_and_is_capped():
    assert [webhooks.backoff_seconds(n) for n in range(5)] == [30, 60, 120, 240, 480]
    assert webhooks.backoff_seconds(20) == webhooks.BACKOFF_MAX_SECONDS


def test_it_refuses_non_http_urls_without_opening_them():
    outcome = webhooks.post(
        "file:///etc/passwd", b"{}", secret="k", event="review.due", delivery_id=1, timeout=1
    )
    assert outcome.status is None and not outcome.delivered
    assert "http" in outcome.error
