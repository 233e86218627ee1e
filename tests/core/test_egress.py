"""The egress guard: which URLs may be reached, and how a request is sent (real listeners)."""

from __future__ import annotations

import re
import time

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from apps.core import egress
from mlgov.env import env_parsed_list
from tests.core.fresh_process import run_with_settings
from tests.listeners import (
    FakeDNS,
    chunked,
    connect_proxy,
    drip,
    listener,
    redirect,
    reply,
    self_signed,
    silent_listener,
)

PUBLIC = "93.184.215.14"  # a globally routable address (no test connects to it on purpose)


@pytest.fixture(autouse=True)
def _default_install(settings):
    """Every test starts from a default install: nothing allow-listed, ports 80 and 443."""
    settings.MLGOV_EGRESS_ALLOW = []
    settings.MLGOV_EGRESS_PORTS = [80, 443]
    settings.MLGOV_EGRESS_CA_FILE = ""
    settings.MLGOV_EGRESS_PROXY = None


def _refusal(url: str) -> str:
    with pytest.raises(egress.EgressError) as caught:
        egress.check_url(url)
    return caught.value.message


# --- what is refused --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "127.0.0.1, a loopback address"),
        ("http://127.8.9.10/", "a loopback address"),
        ("http://localhost/", "localhost resolves to 127.0.0.1, a loopback address"),
        ("http://LOCALHOST./", "a loopback address"),
        ("http://ⓛocalhost/", "localhost resolves to 127.0.0.1"),
        ("http://[::1]/", "::1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata service"),
        ("http://[fd00:ec2::254]/", "the cloud metadata service"),
        ("http://169.254.1.1/", "a link-local address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://10.2.3.4/", "a private (RFC 1918) address"),
        ("http://172.16.0.1/", "a private (RFC 1918) address"),
        ("http://192.168.1.1/", "a private (RFC 1918) address"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[fc00::1]/", "a unique-local address"),
        ("http://[fd12:3456::1]/", "a unique-local address"),
        ("http://[fec0::1]/", "a site-local address"),
        ("http://192.0.2.1/", "a documentation address"),
        ("http://198.51.100.1/", "a documentation address"),
        ("http://203.0.113.1/", "a documentation address"),
        ("http://[2001:db8::1]/", "a documentation address"),
        ("http://198.18.0.1/", "a benchmarking address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://0.1.2.3/", "not a public address"),
        ("http://[100::1]/", "a reserved address"),
        # IPv6 forms that carry an IPv4 address are judged by that address.
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1, a loopback address"),
        ("http://[::ffff:7f00:1]/", "127.0.0.1, a loopback address"),
        ("http://[::ffff:169.254.169.254]/", "the cloud metadata service"),
        ("http://[64:ff9b::7f00:1]/", "the NAT64 form of 127.0.0.1, a loopback address"),
        ("http://[64:ff9b::a00:1]/", "the NAT64 form of 10.0.0.1, a private"),
        ("http://[2002:7f00:1::]/", "the 6to4 form of 127.0.0.1, a loopback address"),
        ("http://[2002:a9fe:a9fe::]/", "the 6to4 form of 169.254.169.254"),
        ("http://[2001::1]/", "a Teredo tunnel address"),
        ("http://[::127.0.0.1]/", "an IPv4-compatible address"),
        ("http://[64:ff9b:1::1]/", "a reserved address"),
    ],
)
def test_it_refuses_non_public_addresses(url, reason):
    message = _refusal(url)
    assert reason in message
    assert "MLGOV_EGRESS_ALLOW" in message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://0.0.0.0/", "the unspecified address"),
        ("http://[::]/", "the unspecified address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://239.255.255.250/", "a multicast address"),
        ("http://[ff02::1]/", "a multicast address"),
        ("http://255.255.255.255/", "a reserved address"),
    ],
)
def test_it_never_reaches_addresses_that_are_not_one_server(settings, url, reason):
    settings.MLGOV_EGRESS_ALLOW = ["0.0.0.0/0", "::/0"]
    message = _refusal(url)
    assert reason in message and "never reached" in message


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://0177.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://127.0.1/", "127.0.0.1"),
        ("http://127.000.000.001/", "127.0.0.1"),
        ("http://017700000001/", "127.0.0.1"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
        ("http://2852039166/", "169.254.169.254"),
        ("http://0/", "0.0.0.0"),  # noqa: S104 (a URL, not a binding)
    ],
)
def test_it_refuses_numeric_spellings_other_than_the_canonical_one(url, meant):
    message = _refusal(url)
    assert "not a canonical IP address" in message and f"it means {meant}" in message


def test_look_alike_digits_are_read_as_the_address_they_spell():
    # Full-width digits are mapped by IDNA to ASCII, as a resolver would.
    assert "127.0.0.1, a loopback address" in _refusal("http://１２７.０.０.１/")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("gopher://example.com:70/", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("//example.com/", "Only http:// and https://"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://example.com@127.0.0.1/", "user name or password"),
        ("http:///path", "names no host"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://example.com/\r\nX-Injected: 1", "spaces or control characters"),
        ("http://[::1/", "not a valid URL"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://[fe80::1%25eth0]/", "IPv6 zone"),
        ("http://-bad-.example/", "not a valid host name"),
        ("http://%6c%6f%63%61%6c%68%6f%73%74/", "not a valid host name"),
    ],
)
def test_it_refuses_malformed_urls_and_other_schemes(url, reason):
    assert reason in _refusal(url)


def test_it_refuses_a_name_when_any_of_its_addresses_is_refused(monkeypatch):
    FakeDNS(monkeypatch, {"split.example.com": [[PUBLIC, "10.0.0.7"]]})
    message = _refusal("https://split.example.com/hook")
    assert message == (
        "split.example.com resolves to 10.0.0.7, a private (RFC 1918) address; "
        "an operator can allow it with MLGOV_EGRESS_ALLOW=split.example.com."
    )


def test_a_name_that_does_not_resolve_is_refused_and_may_be_retried(monkeypatch):
    FakeDNS(monkeypatch, {"gone.example.com": [[]]})
    with pytest.raises(egress.EgressError, match=r"gone\.example\.com does not resolve") as caught:
        egress.check_url("https://gone.example.com/")
    assert caught.value.retryable


def test_it_accepts_a_public_name_on_the_usual_ports(monkeypatch):
    FakeDNS(monkeypatch, {"hooks.example.com": [[PUBLIC, "2606:4700::1111"]]})
    target = egress.check_url("https://Hooks.Example.COM./in?x=1#frag")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.example.com",
        443,
        "/in?x=1",
    )
    assert [str(a) for a in target.addresses] == [PUBLIC, "2606:4700::1111"]
    assert egress.check_url(f"http://{PUBLIC}/").port == 80
    # NAT64 (DNS64 networks) and IPv4-mapped forms of public addresses are public.
    egress.check_url("http://[64:ff9b::808:808]/")
    egress.check_url("http://[::ffff:8.8.8.8]/")


def test_other_ports_are_refused_unless_configured(settings, monkeypatch):
    FakeDNS(monkeypatch, {"hooks.example.com": [[PUBLIC]]})
    message = _refusal("https://hooks.example.com:6379/")
    assert message.startswith("Port 6379 is not allowed for outbound requests (allowed: 80, 443)")
    assert "MLGOV_EGRESS_ALLOW=hooks.example.com:6379" in message
    settings.MLGOV_EGRESS_PORTS = [443, 8443]
    assert egress.check_url("https://hooks.example.com:8443/").port == 8443
    assert "Port 80 is not allowed" in _refusal("http://hooks.example.com/")
    settings.MLGOV_EGRESS_ALLOW = ["hooks.example.com:9000"]
    assert egress.check_url("https://hooks.example.com:9000/").port == 9000


# --- the operator's allow-list ----------------------------------------------------------------


def test_an_allow_listed_network_opens_its_addresses_on_the_usual_ports(settings):
    settings.MLGOV_EGRESS_ALLOW = ["10.2.0.0/16"]
    assert str(egress.check_url("https://10.2.9.9/m.json").addresses[0]) == "10.2.9.9"
    assert "10.3.0.1, a private" in _refusal("https://10.3.0.1/")
    assert "on the allowed ports only, not on port 6379" in _refusal("https://10.2.0.1:6379/")


def test_an_allow_listed_host_name_opens_whatever_it_resolves_to(settings, monkeypatch):
    FakeDNS(monkeypatch, {"metrics.internal": [["10.9.0.5", "fd00::5"]]})
    settings.MLGOV_EGRESS_ALLOW = ["metrics.internal"]
    assert len(egress.check_url("https://metrics.internal/x").addresses) == 2
    # The name is what the operator trusted, not the address: another name for it is refused.
    FakeDNS(monkeypatch, {"alias.example.com": [["10.9.0.5"]]})
    assert "alias.example.com resolves to 10.9.0.5" in _refusal("https://alias.example.com/")


def test_an_entry_with_a_port_opens_that_port_only(settings):
    settings.MLGOV_EGRESS_ALLOW = ["127.0.0.1:8443"]
    assert egress.check_url("https://127.0.0.1:8443/").port == 8443
    message = _refusal("https://127.0.0.1/")
    assert message == (
        "127.0.0.1 is allowed by MLGOV_EGRESS_ALLOW on port 8443 only, not on port 443."
    )
    assert "not on port 6379" in _refusal("http://127.0.0.1:6379/")
    assert "[::1], a loopback" not in _refusal("http://[::1]:8443/")


def test_check_host_accepts_hosts_reachable_on_some_allowed_port(settings, monkeypatch):
    FakeDNS(monkeypatch, {"pull.example.org": [[PUBLIC]]})
    assert [str(a) for a in egress.check_host("Pull.Example.org")] == [PUBLIC]
    with pytest.raises(egress.EgressError, match="a loopback address"):
        egress.check_host("localhost")
    with pytest.raises(egress.EgressError, match="not a canonical IP address"):
        egress.check_host("2130706433")
    settings.MLGOV_EGRESS_ALLOW = ["127.0.0.1:8443"]
    assert egress.check_host("127.0.0.1")


def test_form_validators_turn_refusals_into_field_messages():
    with pytest.raises(ValidationError, match="a loopback address"):
        egress.validate_url("http://127.0.0.1/")
    with pytest.raises(ValidationError, match="the cloud metadata service"):
        egress.validate_host("169.254.169.254")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("10.2.0.0/16", "10.2.0.0/16"),
        ("10.2.0.7", "10.2.0.7"),
        (" Metrics.Internal. ", "metrics.internal"),
        ("127.0.0.1:8443", "127.0.0.1:8443"),
        ("metrics.internal:9000", "metrics.internal:9000"),
        ("fd00::/8", "fd00::/8"),
        ("[fd00::1]:8443", "[fd00::1]:8443"),
        ("::1", "::1"),
        ("bücher.internal", "xn--bcher-kva.internal"),
    ],
)
def test_allow_list_entries_are_parsed(entry, expected):
    assert str(egress.parse_allow_entry(entry)) == expected


@pytest.mark.parametrize(
    "entry",
    [
        *("10.2.0.1/16", "10.2.0.0/33", "2130706433", "0x7f.1", "127.1", "a b", "x:y"),
        *("h:0", ":80", "[::1]x", "https://metrics.internal", "metrics.internal/path"),
        "1.2.3.4:99999",
        "1.2.3.4:٣",
    ],
)
def test_malformed_allow_list_entries_are_refused(entry):
    with pytest.raises(ValueError, match=re.escape(repr(entry))):
        egress.parse_allow_entry(entry)


def test_a_malformed_entry_stops_the_start_up_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("MLGOV_EGRESS_ALLOW", "10.2.0.0/16,2130706433")
    with pytest.raises(ImproperlyConfigured, match="MLGOV_EGRESS_ALLOW: '2130706433'"):
        env_parsed_list("MLGOV_EGRESS_ALLOW", egress.parse_allow_entry)
    # And the settings module itself refuses to load with it.
    result = run_with_settings("import mlgov.settings", tmp_path, MLGOV_EGRESS_PORTS="443,x")
    assert result.returncode != 0
    assert "MLGOV_EGRESS_PORTS: 'x' is not a port number" in result.stderr


def test_a_missing_ca_bundle_stops_the_start_up(tmp_path):
    result = run_with_settings(
        "import mlgov.settings", tmp_path, MLGOV_EGRESS_CA_FILE="/nonexistent/ca.pem"
    )
    assert result.returncode != 0
    assert "MLGOV_EGRESS_CA_FILE=/nonexistent/ca.pem is not a readable file" in result.stderr


# --- sending through the guard, to real listeners on 127.0.0.1 --------------------------------


def test_a_default_install_never_reaches_a_loopback_listener():
    with listener() as server:
        for url in (server.url("/hook"), server.url("/hook", host="localhost")):
            with pytest.raises(egress.EgressError, match="a loopback address"):
                egress.request("POST", url, body=b"{}", timeout=2, max_bytes=1024)
    assert server.requests == []


def test_an_allow_listed_listener_gets_the_method_headers_and_body(settings):
    with listener(reply(201, b'{"ok": true}', {"Content-Type": "application/json"})) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        response = egress.request(
            "POST",
            server.url("/hook?x=1"),
            body=b'{"event": "x"}',
            headers={"Content-Type": "application/json", "X-Mlgov-Signature": "sha256=ab"},
            timeout=5,
            max_bytes=1024,
        )
    assert (response.status, response.body, str(response.address)) == (
        201,
        b'{"ok": true}',
        "127.0.0.1",
    )
    [seen] = server.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/hook?x=1", b'{"event": "x"}')
    assert seen.headers["X-Mlgov-Signature"] == "sha256=ab"
    assert seen.headers["Host"] == f"127.0.0.1:{server.port}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_the_post_stays_a_post(settings, status):
    with listener() as elsewhere, listener(redirect(elsewhere.url("/stolen"), status)) as allowed:
        settings.MLGOV_EGRESS_ALLOW = [allowed.allow_entry]
        with pytest.raises(egress.EgressError) as caught:
            egress.request("POST", allowed.url("/hook"), body=b"secret", timeout=5, max_bytes=1024)
    error = caught.value
    assert error.status == status and not error.retryable
    assert "redirects are not followed" in error.message
    assert elsewhere.url("/stolen") in error.message
    assert [(r.method, r.body) for r in allowed.requests] == [("POST", b"secret")]
    assert elsewhere.requests == []


def test_a_redirect_to_another_allowed_listener_is_not_followed_either(settings):
    with listener() as second, listener(redirect("/")) as first:
        settings.MLGOV_EGRESS_ALLOW = [first.allow_entry, second.allow_entry]
        with pytest.raises(egress.EgressError, match="302"):
            egress.request("GET", first.url(), timeout=5, max_bytes=1024)
    assert len(first.requests) == 1 and second.requests == []


def test_dns_rebinding_cannot_reach_loopback(settings, monkeypatch):
    # The name answers a public address to the check and loopback to any second lookup. The
    # guard connects to the address it checked, so the loopback listener hears nothing.
    with listener() as server:
        settings.MLGOV_EGRESS_PORTS = [80, 443, server.port]
        dns = FakeDNS(monkeypatch, {"rebind.example.com": [[PUBLIC], ["127.0.0.1"]]})
        with pytest.raises(egress.EgressError) as caught:
            egress.request(
                "GET",
                f"http://rebind.example.com:{server.port}/",
                timeout=1.5,
                max_bytes=1024,
            )
    assert server.requests == []
    assert dns.calls == ["rebind.example.com"]
    # It tried the address it checked, and only that one.
    assert caught.value.retryable and f"rebind.example.com:{server.port} ({PUBLIC})" in (
        caught.value.message
    )


def test_a_name_answering_loopback_first_is_refused_before_connecting(monkeypatch):
    with listener() as server:
        FakeDNS(monkeypatch, {"rebind.example.com": [["127.0.0.1"], [PUBLIC]]})
        with pytest.raises(egress.EgressError, match=r"resolves to 127\.0\.0\.1, a loopback"):
            egress.request(
                "GET", f"http://rebind.example.com:{server.port}/", timeout=2, max_bytes=10
            )
    assert server.requests == []


def test_an_answer_larger_than_the_limit_is_refused(settings):
    with listener(reply(200, b"z" * 5000)) as declared, listener(chunked(300_000)) as streamed:
        settings.MLGOV_EGRESS_ALLOW = [declared.allow_entry, streamed.allow_entry]
        with pytest.raises(egress.EgressError, match="larger than the limit of 4096") as caught:
            egress.request("GET", declared.url(), timeout=5, max_bytes=4096)
        assert caught.value.status == 200 and not caught.value.retryable
        # Without a Content-Length the body is counted as it streams in.
        with pytest.raises(egress.EgressError, match="larger than the limit of 100000"):
            egress.request("GET", streamed.url(), timeout=5, max_bytes=100_000)
        assert len(egress.request("GET", declared.url(), timeout=5, max_bytes=5000).body) == 5000
        assert len(egress.request("GET", streamed.url(), timeout=5, max_bytes=300_000).body) == (
            300_000
        )


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_slow_drip_cannot_hold_the_request_past_its_deadline(settings, headers_too):
    # One byte every 0.1 s would take 100 s; each read alone never waits long enough to time
    # out, so only a whole-request deadline stops it.
    with listener(drip(interval=0.1, total=1000, headers_too=headers_too)) as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        started = time.monotonic()
        with pytest.raises(egress.EgressError, match="did not answer within the limit of 1 s"):
            egress.request("GET", server.url(), timeout=1, max_bytes=10_000)
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.6


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_server_that_accepts_and_stays_silent_is_left_at_the_deadline(settings, scheme):
    with silent_listener() as server:
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        started = time.monotonic()
        with pytest.raises(egress.EgressError, match="did not answer within") as caught:
            egress.request("GET", f"{scheme}://127.0.0.1:{server.port}/", timeout=0.5, max_bytes=10)
        assert time.monotonic() - started < 1.2
    assert caught.value.retryable


def test_an_allow_listed_ipv6_listener_is_reached_over_ipv6(settings):
    with listener(reply(200, b"v6"), bind="::1") as server:
        assert "::1, a loopback address" in _refusal(server.url())
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        response = egress.request("GET", server.url("/x"), timeout=5, max_bytes=10)
    assert (response.body, str(response.address)) == (b"v6", "::1")
    assert server.requests[0].headers["Host"] == f"[::1]:{server.port}"


def test_a_closed_port_fails_retryably(settings):
    with listener() as server:
        pass
    settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
    with pytest.raises(egress.EgressError, match="refused the connection") as caught:
        egress.request("GET", server.url(), timeout=2, max_bytes=10)
    assert caught.value.retryable


# --- HTTPS: connected to the checked address, verified for the URL's host name ---------------


def test_https_to_a_pinned_address_keeps_sni_host_and_certificate_checks(
    settings, monkeypatch, tmp_path
):
    cert = self_signed(tmp_path, "metrics.internal")
    with listener(reply(200, b"rows"), cert=cert) as server:
        dns = FakeDNS(monkeypatch, {"metrics.internal": [["127.0.0.1"]]})
        settings.MLGOV_EGRESS_ALLOW = [f"metrics.internal:{server.port}"]
        settings.MLGOV_EGRESS_CA_FILE = cert.cert_file
        url = f"https://metrics.internal:{server.port}/m.json"
        response = egress.request("GET", url, timeout=5, max_bytes=100)
    assert response.body == b"rows" and str(response.address) == "127.0.0.1"
    [seen] = server.requests
    assert seen.server_name == "metrics.internal"
    assert seen.headers["Host"] == f"metrics.internal:{server.port}"
    assert dns.calls == ["metrics.internal"]


def test_https_refuses_an_untrusted_or_mismatched_certificate(settings, monkeypatch, tmp_path):
    cert = self_signed(tmp_path, "other.internal")
    with listener(reply(200), cert=cert) as server:
        FakeDNS(monkeypatch, {"metrics.internal": [["127.0.0.1"]]})
        settings.MLGOV_EGRESS_ALLOW = [f"metrics.internal:{server.port}"]
        url = f"https://metrics.internal:{server.port}/"
        with pytest.raises(egress.EgressError, match=r"certificate of metrics\.internal"):
            egress.request("GET", url, timeout=5, max_bytes=100)
        settings.MLGOV_EGRESS_CA_FILE = cert.cert_file  # trusted, but for another name
        with pytest.raises(egress.EgressError, match="Hostname mismatch"):
            egress.request("GET", url, timeout=5, max_bytes=100)
    assert server.requests == []


# --- through the operator's forward proxy -----------------------------------------------------


def test_through_a_proxy_the_tunnel_goes_to_the_checked_address(settings, monkeypatch, tmp_path):
    cert = self_signed(tmp_path, "metrics.internal")
    with connect_proxy() as proxy, listener(reply(200, b"ok"), cert=cert) as server:
        settings.MLGOV_EGRESS_PROXY = f"http://ci:s3cret@127.0.0.1:{proxy.port}"
        settings.MLGOV_EGRESS_CA_FILE = cert.cert_file
        settings.MLGOV_EGRESS_ALLOW = [f"metrics.internal:{server.port}"]
        # A second lookup (by the proxy, say) would answer a public address; none happens.
        FakeDNS(monkeypatch, {"metrics.internal": [["127.0.0.1"], [PUBLIC]]})
        url = f"https://metrics.internal:{server.port}/m.json"
        response = egress.request("GET", url, timeout=5, max_bytes=100)
    assert response.body == b"ok"
    assert proxy.connects == [f"127.0.0.1:{server.port}"]
    assert "Proxy-Authorization: Basic Y2k6czNjcmV0" in proxy.headers[0]
    [seen] = server.requests
    assert seen.server_name == "metrics.internal"
    assert seen.headers["Host"] == f"metrics.internal:{server.port}"


def test_with_a_proxy_the_guard_still_refuses_before_asking_it(settings):
    with connect_proxy() as proxy, listener() as server:
        settings.MLGOV_EGRESS_PROXY = proxy.url
        with pytest.raises(egress.EgressError, match="a loopback address"):
            egress.request("POST", server.url(), body=b"x", timeout=2, max_bytes=10)
    assert proxy.connects == [] and server.requests == []


def test_a_proxy_that_refuses_the_tunnel_fails_the_request(settings):
    with connect_proxy(refuse="403 Forbidden") as proxy, listener() as server:
        settings.MLGOV_EGRESS_PROXY = proxy.url
        settings.MLGOV_EGRESS_ALLOW = [server.allow_entry]
        with pytest.raises(
            egress.EgressError, match=re.escape("answered 'HTTP/1.1 403 Forbidden'")
        ):
            egress.request("GET", server.url(), timeout=2, max_bytes=10)
    assert proxy.connects == [server.allow_entry] and server.requests == []


@pytest.mark.parametrize(
    "value",
    ["https://proxy:3128", "http://proxy", "proxy:3128", "http://proxy:3128/path", "socks5://p:1"],
)
def test_a_malformed_proxy_is_refused_without_showing_its_password(value):
    with pytest.raises(ValueError, match="not a proxy URL"):
        egress.parse_proxy(value)
    with pytest.raises(ValueError) as caught:
        egress.parse_proxy("https://user:hunter2@proxy:3128")
    assert "hunter2" not in str(caught.value)
