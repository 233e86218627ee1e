"""User-entered URLs: only http(s) becomes a link, through one filter, with a safe ``rel``."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from apps.core.links import safe_link_url, validate_link_lines
from apps.core.templatetags.mlgov import user_link

HOSTILE_URLS = (
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/x",
    "/relative/path",
    "https:evil.example",
    "https:\\\\evil.example",
    "http://",
    "s3://bucket/key",
    "mailto:someone@example.org",
)


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_it_refuses_anything_but_absolute_web_addresses(url):
    assert safe_link_url(url) is None


@pytest.mark.parametrize(
    "url",
    ("https://ci.example.org/run/1", "http://ci/run/1?x=1#frag", "HTTPS://Example.org/A"),
)
def test_it_accepts_http_and_https_with_a_host(url):
    assert safe_link_url(f"  {url} ") == url


def test_the_filter_renders_a_web_address_as_a_link_without_opener_or_referrer():
    html = user_link('https://ci.example.org/run?a=1&b="2"')

    assert html == (
        '<a href="https://ci.example.org/run?a=1&amp;b=&quot;2&quot;" '
        'rel="noopener noreferrer nofollow">https://ci.example.org/run?a=1&amp;b=&quot;2&quot;</a>'
    )


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_the_filter_shows_anything_else_as_escaped_text(url):
    html = str(Template("{% load mlgov %}{{ url|user_link }}").render(Context({"url": url})))

    assert "<a" not in html and "href" not in html
    assert "<script>" not in html


def test_the_filter_renders_nothing_for_an_empty_value():
    assert user_link("") == "" and user_link(None) == ""


def test_evidence_lines_name_each_refused_line():
    with pytest.raises(ValidationError) as caught:
        validate_link_lines("https://ok.example/1\n\njavascript:alert(1)\nftp://x/y")

    messages = caught.value.messages
    assert len(messages) == 2
    assert messages[0].startswith("Line 3: “javascript:alert(1)” is not a web address")
    assert messages[1].startswith("Line 4:")


def test_evidence_lines_of_web_addresses_pass():
    assert validate_link_lines(" https://a.example/1 \n\nhttp://b/2") == [
        "https://a.example/1",
        "http://b/2",
    ]


@pytest.mark.django_db
def test_admins_see_webhook_urls_through_the_same_helper(client, admin_user):
    from apps.notifications.models import WebhookEndpoint

    WebhookEndpoint.objects.create(
        name="SIEM", url="https://siem.example.org/hook", secret="s", created_by=admin_user
    )
    # A row written before URLs were checked, as stored data may hold anything.
    WebhookEndpoint.objects.create(
        name="Old", url="javascript:alert(1)", secret="s", created_by=admin_user
    )
    client.force_login(admin_user)

    page = client.get("/admin/notifications/webhookendpoint/").content.decode()

    assert '<a href="https://siem.example.org/hook" rel="noopener noreferrer nofollow">' in page
    assert 'href="javascript' not in page
    assert "javascript:alert(1)" in page
