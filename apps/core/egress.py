"""The egress guard: every HTTP request mlgov sends to a URL someone configured goes through here.

Webhook endpoints, scheduled metric pulls and any later integration take URLs from users. Left
alone, such a URL reaches whatever the server can reach: its own loopback services (Redis,
PostgreSQL, the admin), the cloud metadata service at 169.254.169.254, the bank's internal
network. The guard lets a request out only to public addresses, unless an operator has opted an
internal host in with ``MLGOV_EGRESS_ALLOW``:

- only ``http``/``https``; no user name or password in the URL; ports 80 and 443 only unless
  ``MLGOV_EGRESS_PORTS`` or an allow-list entry with a port says otherwise;
- the host is resolved once and *every* address it resolves to must be acceptable; an address
  is acceptable when it is globally routable (``ipaddress`` decides) or an allow-list entry
  covers it. Numeric spellings other than the canonical one (``2130706433``, ``0x7f.1``,
  ``0177.0.0.1``, ``127.1``) are refused, and IPv6 addresses that embed an IPv4 address
  (mapped, 6to4, NAT64) are judged by the embedded address;
- the connection goes to the address that was checked: no second lookup, so a name that
  answers differently the second time (DNS rebinding) gains nothing. The Host header, TLS SNI
  and certificate verification still use the host name of the URL;
- with ``MLGOV_EGRESS_PROXY`` set, the request goes through the operator's forward proxy as a
  CONNECT tunnel to the checked address (not the name), so the pinning holds there too;
- redirects are not followed: a 3xx answer raises ``EgressError`` with its status, so a
  webhook is never recorded as delivered to a redirect and a POST never turns into a GET;
- the answer is read up to ``max_bytes`` (more raises) and the whole request, from connecting
  to the last byte, must finish within ``timeout`` seconds: a server that drips bytes cannot
  hold a worker longer than that.

``check_url`` (and ``check_host``) validate without connecting, for forms and services at save
time; ``request`` checks again and sends. Both raise ``EgressError``, whose message says why.
Standard library only, no ORM; settings are read through ``django.conf.settings``.
"""

from __future__ import annotations

import base64
import functools
import http.client
import io
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.core.errors import ApplicationError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = {"http": 80, "https": 443}
DEFAULT_PORTS = (80, 443)
ALLOW_SETTING = "MLGOV_EGRESS_ALLOW"
CHUNK_BYTES = 64 * 1024

# Only to name a refused address in a message; *whether* an address is refused is decided by
# ``ipaddress`` (is_global and friends) in ``address_refusal``.
_NAMED_RANGES: tuple[tuple[str, str], ...] = (
    ("10.0.0.0/8", "a private (RFC 1918) address"),
    ("172.16.0.0/12", "a private (RFC 1918) address"),
    ("192.168.0.0/16", "a private (RFC 1918) address"),
    ("100.64.0.0/10", "a shared carrier-grade NAT (RFC 6598) address"),
    ("192.0.2.0/24", "a documentation address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("2001:db8::/32", "a documentation address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("2001:2::/48", "a benchmarking address"),
    ("fc00::/7", "a unique-local address"),
)
_NAMED = tuple((ipaddress.ip_network(net), label) for net, label in _NAMED_RANGES)
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class EgressError(ApplicationError):
    """An outbound request was refused by the guard or failed; the message says why.

    ``retryable``: the same request may succeed later (a timeout, a refused connection, a name
    that did not resolve); refusals by policy and redirects are not. ``status`` is the HTTP
    status when an answer came (a redirect, an over-size answer).
    """

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


# --- the operator's allow-list ---------------------------------------------------------------


@dataclass(frozen=True)
class AllowRule:
    """One ``MLGOV_EGRESS_ALLOW`` entry: a network (an IP is a /32 or /128) or a host name,
    optionally with a port. Without a port it covers the allowed ports (``MLGOV_EGRESS_PORTS``);
    with one, that port only."""

    network: IPNetwork | None = None
    host: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.host:
            name = self.host
        elif self.network.num_addresses == 1:
            name = str(self.network.network_address)
        else:
            name = str(self.network)
        if self.port is None:
            return name
        return f"[{name}]:{self.port}" if ":" in name else f"{name}:{self.port}"

    def covers(self, host: str, address: IPAddress) -> bool:
        if self.host is not None:
            return self.host == host
        return address.version == self.network.version and address in self.network

    def covers_port(self, port: int, default_ports: Iterable[int]) -> bool:
        return port == self.port if self.port is not None else port in default_ports


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def _parse_port(text: str, entry: str) -> int:
    if not _is_port(text):
        raise ValueError(f"{entry!r} has an invalid port {text!r} (1–65535).")
    return int(text)


def parse_port(text: str) -> int:
    """A port number from settings (1–65535); ValueError otherwise."""
    if not _is_port(text.strip()):
        raise ValueError(f"{text!r} is not a port number (1–65535).")
    return int(text)


def parse_allow_entry(entry: str) -> AllowRule:
    """``10.2.0.0/16``, ``10.2.0.7``, ``metrics.internal``, ``127.0.0.1:8443``,
    ``[fd00::1]:8443`` or ``fd00::/8``. Raises ValueError naming the entry when malformed."""
    text = entry.strip().lower()
    port = None
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{entry!r} is not an address, network or host name.")
            port = _parse_port(rest[1:], entry)
        text = inside
    elif text.count(":") == 1:
        text, port_text = text.split(":")
        port = _parse_port(port_text, entry)
    if not text:
        raise ValueError(f"{entry!r} names no host.")
    if "/" in text or _is_ip_literal(text):
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a valid address or network: {exc}.") from exc
        return AllowRule(network=network, port=port)
    try:
        host = text.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        host = text
    if _ends_in_number(host) or not _valid_hostname(host):
        raise ValueError(
            f"{entry!r} is neither a canonical IP address, a network (CIDR) nor a host name."
        )
    return AllowRule(host=host, port=port)


def _allow_rules() -> list[AllowRule]:
    """The parsed allow-list (settings hold parsed rules; strings are accepted for tests)."""
    return [
        rule if isinstance(rule, AllowRule) else parse_allow_entry(rule)
        for rule in getattr(settings, ALLOW_SETTING, ())
    ]


def _default_ports() -> tuple[int, ...]:
    return tuple(getattr(settings, "MLGOV_EGRESS_PORTS", DEFAULT_PORTS))


# --- classifying addresses and host names ----------------------------------------------------


def _is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ends_in_number(host: str) -> bool:
    """True when resolvers would read ``host`` as an IPv4 address (the URL standard's rule):
    its last label is decimal, octal or hex digits. ``2130706433`` and ``0x7f.1`` are."""
    last = host.rstrip(".").rsplit(".", 1)[-1]
    return bool(_NUMERIC_LABEL.match(last))


def _valid_hostname(host: str) -> bool:
    return 0 < len(host) <= 253 and all(_LABEL.match(label) for label in host.split("."))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries and how (the part that is actually reached)."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    return None


def _describe(address: IPAddress) -> str:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address in _METADATA:
        return "the cloud metadata service"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    for network, label in _NAMED:
        if address.version == network.version and address in network:
            return label
    if address.version == 6 and address.is_site_local:
        return "a site-local address"
    if address.is_reserved:
        return "a reserved address"
    return "not a public address"


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination (e.g. "a loopback address"), or None."""
    if address.version == 6:
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            how, v4 = embedded
            reason = address_refusal(v4)
            return f"the {how} form of {v4}, {reason}" if reason else None
        if address.teredo is not None:
            return "a Teredo tunnel address"
        if address in _IPV4_COMPATIBLE and not (address.is_loopback or address.is_unspecified):
            return "an IPv4-compatible address (deprecated)"
    public = (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not (address.version == 6 and address.is_site_local)
    )
    return None if public else _describe(address)


def _never_allowed(address: IPAddress) -> bool:
    """Destinations no allow-list entry can open: they are never one server."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_unspecified
        or address.is_multicast
        or address == ipaddress.IPv4Address("255.255.255.255")
    )


# --- checking a URL --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked destination: what to ask for, and the addresses that may be connected to."""

    url: str
    scheme: str
    host: str  # lower-case ASCII (IDNA), without a trailing dot; an IP without brackets
    port: int
    path: str  # the request target: path and query
    addresses: tuple[IPAddress, ...]

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _hint(host: str, port: int | None, defaults: tuple[int, ...]) -> str:
    entry = host
    if port is not None and port not in defaults:
        entry = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"an operator can allow it with {ALLOW_SETTING}={entry}"


def _normalise_host(raw: str) -> str:
    """The host as it is resolved: IDNA-encoded, lower case, no trailing dot; numeric
    spellings other than the canonical address are refused."""
    host = raw.strip().rstrip(".").lower()
    if not host:
        raise EgressError("The URL names no host.")
    if "%" in host and ":" in host:
        raise EgressError(f"{raw} carries an IPv6 zone; only global addresses are reached.")
    if not _is_ip_literal(host):
        try:
            # Also maps look-alikes (full-width digits, ⓛ) to what a resolver would ask for.
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise EgressError(f"{raw} is not a valid host name.") from exc
    if _is_ip_literal(host):
        return str(ipaddress.ip_address(host))
    if _ends_in_number(host):
        try:
            meant = socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            meant = None
        spelled = f" (it means {meant})" if meant else ""
        raise EgressError(
            f"{raw} is a numeric host that is not a canonical IP address{spelled}; "
            "write an IP address in its usual dotted form."
        )
    if not _valid_hostname(host):
        raise EgressError(f"{raw} is not a valid host name.")
    return host


def _canonical(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 address it maps (and is connected to as such)."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address ``host`` resolves to, in the resolver's order, once each."""
    if _is_ip_literal(host):
        return (_canonical(ipaddress.ip_address(host)),)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # Usually temporary at use time; at save time the caller refuses the URL.
        raise EgressError(f"{host} does not resolve ({exc}).", retryable=True) from exc
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = _canonical(ipaddress.ip_address(sockaddr[0].split("%", 1)[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise EgressError(f"{host} does not resolve to an IP address.", retryable=True)
    return tuple(addresses)


def _judge(host: str, port: int | None, addresses: tuple[IPAddress, ...]) -> None:
    """Refuse unless every address may be reached on ``port`` (None: on some allowed port).

    A public address is reached on the allowed ports; any address an allow-list entry covers
    is reached on that entry's port (or the allowed ports when it names none).
    """
    rules = _allow_rules()
    defaults = _default_ports()
    named = "" if _is_ip_literal(host) else f"{host} resolves to "
    for address in addresses:
        subject = f"{named}{address}"
        if _never_allowed(address):
            raise EgressError(f"{subject}, {_describe(address)}, which is never reached.")
        covering = [rule for rule in rules if rule.covers(host, address)]
        reason = address_refusal(address)
        if port is None:
            reachable = bool(covering) or (reason is None and bool(defaults))
        else:
            reachable = any(rule.covers_port(port, defaults) for rule in covering) or (
                reason is None and port in defaults
            )
        if reachable:
            continue
        if covering:
            ports = ", ".join(
                f"port {rule.port}" if rule.port else "the allowed ports" for rule in covering
            )
            raise EgressError(
                f"{subject} is allowed by {ALLOW_SETTING} on {ports} only, not on port {port}."
            )
        if reason is None:
            allowed = ", ".join(map(str, defaults)) or "none"
            raise EgressError(
                f"Port {port} is not allowed for outbound requests (allowed: {allowed}); "
                f"{_hint(host, port, defaults)} or list the port in MLGOV_EGRESS_PORTS."
            )
        hint_host = host if named else str(address)
        raise EgressError(f"{subject}, {reason}; {_hint(hint_host, port, defaults)}.")


def check_url(url: str) -> Target:
    """Check ``url`` without connecting: scheme, host spelling, port and every address the
    host resolves to now. Returns the target a request would go to; raises EgressError."""
    text = (url or "").strip()
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in text):
        raise EgressError("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(text)
        explicit_port = parts.port
    except ValueError as exc:
        raise EgressError(f"{text} is not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise EgressError(f"Only http:// and https:// URLs are reached, not {scheme or text}.")
    if parts.username is not None or parts.password is not None:
        raise EgressError("A URL with a user name or password is not accepted.")
    if parts.hostname is None:
        raise EgressError(f"{text} names no host.")
    host = _normalise_host(parts.hostname)
    port = SCHEMES[scheme] if explicit_port is None else explicit_port
    if not 0 < port < 65536:
        raise EgressError(f"{text} has an invalid port.")
    addresses = _resolve(host, port)
    _judge(host, port, addresses)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url=text, scheme=scheme, host=host, port=port, path=path, addresses=addresses)


def check_host(hostname: str) -> tuple[IPAddress, ...]:
    """Check a bare host name (an allow-list of hosts, say): it must be spelled canonically
    and every address it resolves to must be reachable on some allowed port."""
    host = _normalise_host(hostname)
    addresses = _resolve(host, 443)
    _judge(host, None, addresses)
    return addresses


def check_field(field: str, value: str, check: Callable[[str], object] = check_url) -> None:
    """A save-time check in a service: the guard's refusal (``check_url`` or ``check_host``)
    as an ApplicationError whose message sits on ``field``. The guard checks again at use."""
    try:
        check(value)
    except EgressError as exc:
        raise ApplicationError(exc.message, field_errors={field: [exc.message]}) from exc


def validate_url(value: str) -> None:
    """Form-field validator: the guard's refusal as a field message."""
    try:
        check_url(value)
    except EgressError as exc:
        raise ValidationError(exc.message, code="egress") from exc


def validate_host(value: str) -> None:
    """Form-field validator for a bare host name."""
    try:
        check_host(value)
    except EgressError as exc:
        raise ValidationError(exc.message, code="egress") from exc


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A complete answer that was not a redirect; ``body`` holds at most ``max_bytes``."""

    status: int
    reason: str
    headers: Message
    body: bytes
    address: IPAddress


class _DeadlineSocket:
    """A socket whose every send and receive waits only for what is left of one deadline.

    http.client reads headers and body through ``makefile``; routing those reads through
    ``recv_into`` here bounds the whole exchange, not just each read.
    """

    def __init__(self, sock: socket.socket, deadline: float):
        self._sock = sock
        self._deadline = deadline
        self._io_refs = 0
        self._closed = False

    def _arm(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request's time limit passed")
        self._sock.settimeout(remaining)

    def sendall(self, data) -> None:
        self._arm()
        self._sock.sendall(data)

    def recv_into(self, buffer, *args) -> int:
        self._arm()
        return self._sock.recv_into(buffer, *args)

    def makefile(self, mode: str = "rb", *args, **kwargs):
        if mode != "rb":
            raise ValueError("only binary reading is supported")
        self._io_refs += 1
        return io.BufferedReader(socket.SocketIO(self, "rb"))

    def fileno(self) -> int:
        return self._sock.fileno()

    def _decref_socketios(self) -> None:
        self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._sock.close()

    def close(self) -> None:
        # Like socket.close: a response still reading keeps the connection open until done.
        self._closed = True
        if self._io_refs <= 0:
            self._sock.close()


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the request's time limit passed")
    return remaining


def _open_socket(target: Target, deadline: float) -> tuple[socket.socket, IPAddress]:
    """Connect to one of the checked addresses (in order), directly or through the operator's
    proxy; never a fresh lookup of the URL's host."""
    proxy = _proxy()
    error: OSError | None = None
    for address in target.addresses:
        try:
            if proxy is not None:
                return _tunnel(proxy, address, target.port, deadline), address
            family = socket.AF_INET if address.version == 4 else socket.AF_INET6
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(_remaining(deadline))
                sock.connect((str(address), target.port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except BaseException:
                sock.close()
                raise
            return sock, address
        except OSError as exc:
            error = exc
            if isinstance(exc, TimeoutError):
                break
    assert error is not None  # addresses is never empty
    raise error


# --- an operator's forward proxy -------------------------------------------------------------


@dataclass(frozen=True)
class Proxy:
    """``MLGOV_EGRESS_PROXY``: a forward proxy reached with HTTP CONNECT. The tunnel is asked
    for the *checked address*, never the host name, so the proxy's own lookup cannot be
    rebound; TLS, SNI and certificate checks still run end to end for the URL's host."""

    host: str
    port: int
    authorization: str = ""

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_proxy(url: str) -> Proxy:
    """``http://[user:password@]host:port``; ValueError naming the value (without its
    password) otherwise."""
    shown = re.sub(r"//[^/@]*@", "//…@", url.strip())
    refusal = f"{shown!r} is not a proxy URL; write http://host:port."
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(refusal) from exc
    if parts.scheme != "http" or not parts.hostname or port is None:
        raise ValueError(refusal)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(refusal)
    authorization = ""
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    return Proxy(host=parts.hostname, port=port, authorization=authorization)


def _proxy() -> Proxy | None:
    value = getattr(settings, "MLGOV_EGRESS_PROXY", None)
    if not value:
        return None
    return value if isinstance(value, Proxy) else parse_proxy(value)


class ProxyRefused(OSError):
    """The proxy would not open the tunnel."""


def _tunnel(proxy: Proxy, address: IPAddress, port: int, deadline: float) -> socket.socket:
    """A TCP connection through ``proxy`` to ``address``:``port`` (HTTP CONNECT)."""
    sock = socket.create_connection((proxy.host, proxy.port), timeout=_remaining(deadline))
    try:
        authority = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
        head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
        if proxy.authorization:
            head += f"Proxy-Authorization: {proxy.authorization}\r\n"
        sock.settimeout(_remaining(deadline))
        sock.sendall(f"{head}\r\n".encode("ascii"))
        answer = b""
        while b"\r\n\r\n" not in answer:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(4096)
            if not chunk or len(answer) > 16384:
                raise ProxyRefused(f"the proxy {proxy} closed the tunnel to {authority}")
            answer += chunk
        status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
        fields = status_line.split(" ", 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or fields[1] != "200":
            raise ProxyRefused(
                f"the proxy {proxy} answered {status_line[:100]!r} to CONNECT {authority}"
            )
        if not answer.endswith(b"\r\n\r\n"):
            raise ProxyRefused(f"the proxy {proxy} sent data before the tunnel opened")
        return sock
    except BaseException:
        sock.close()
        raise


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str) -> ssl.SSLContext:
    """The system's trusted CAs, plus the operator's bundle for internal HTTPS if set."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class _PinnedConnection(http.client.HTTPConnection):
    """Plain HTTP to the checked address; Host names the URL's host."""

    def __init__(self, target: Target, deadline: float):
        super().__init__(target.host, target.port)
        self._target = target
        self._deadline = deadline
        self.address: IPAddress | None = None

    def connect(self) -> None:
        sock, self.address = _open_socket(self._target, self._deadline)
        self.sock = _DeadlineSocket(sock, self._deadline)


class _PinnedTLSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address; SNI and certificate checks name the URL's host."""

    def __init__(self, target: Target, deadline: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, context=context)
        self._target = target
        self._deadline = deadline
        self.address: IPAddress | None = None

    def connect(self) -> None:
        sock, self.address = _open_socket(self._target, self._deadline)
        try:
            sock.settimeout(_remaining(self._deadline))
            tls = self._context.wrap_socket(sock, server_hostname=self._target.host)
        except BaseException:
            sock.close()
            raise
        self.sock = _DeadlineSocket(tls, self._deadline)


def _describe_failure(target: Target, exc: Exception, timeout: float) -> str:
    addresses = ", ".join(map(str, target.addresses))
    where = target.origin if target.host == addresses else f"{target.origin} ({addresses})"
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within the limit of {timeout:g} seconds."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"The TLS certificate of {target.host} was not accepted: {exc.verify_message}."
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {exc.reason or exc}."
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection."
    if isinstance(exc, http.client.HTTPException | ConnectionResetError):
        return f"{where} sent no valid HTTP answer ({type(exc).__name__})."
    return f"Connecting to {where} failed: {exc}."


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    max_bytes: int,
) -> Response:
    """Send one request to ``url`` through the guard and return the whole answer.

    ``timeout`` bounds the whole request: resolving (checked after the resolver answers, which
    cannot be interrupted), connecting, TLS, sending and reading. Raises EgressError when the
    guard refuses the URL, the answer is a redirect or larger than ``max_bytes``, or the
    request fails.
    """
    deadline = time.monotonic() + timeout
    target = check_url(url)
    if time.monotonic() >= deadline:
        raise EgressError(
            f"Resolving {target.host} took longer than {timeout:g} seconds.", retryable=True
        )
    if target.scheme == "https":
        ca_file = getattr(settings, "MLGOV_EGRESS_CA_FILE", "") or ""
        connection = _PinnedTLSConnection(target, deadline, _tls_context(ca_file))
    else:
        connection = _PinnedConnection(target, deadline)
    sent_headers = {"Connection": "close", **(headers or {})}
    answer = None
    try:
        connection.request(method, target.path, body=body, headers=sent_headers)
        answer = connection.getresponse()
        status = answer.status
        if 300 <= status < 400:
            location = (answer.getheader("Location") or "(no Location)")[:300]
            raise EgressError(
                f"{target.origin} answered {status} {answer.reason}, a redirect to {location}; "
                "redirects are not followed (configure the final URL).",
                status=status,
            )
        length = answer.getheader("Content-Length") or ""
        if length.isdigit() and int(length) > max_bytes:
            raise _too_large(target, max_bytes, status)
        chunks: list[bytes] = []
        received = 0
        while chunk := answer.read(min(CHUNK_BYTES, max_bytes + 1 - received)):
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(target, max_bytes, status)
            chunks.append(chunk)
    except EgressError:
        raise
    except (OSError, http.client.HTTPException) as exc:
        raise EgressError(_describe_failure(target, exc, timeout), retryable=True) from exc
    finally:
        if answer is not None:
            answer.close()
        connection.close()
    logger.info(
        "Outbound %s %s (%s) answered %s", method, target.origin, connection.address, status
    )
    return Response(
        status=status,
        reason=answer.reason,
        headers=answer.msg,
        body=b"".join(chunks),
        address=connection.address,
    )


def _too_large(target: Target, max_bytes: int, status: int) -> EgressError:
    return EgressError(
        f"The answer of {target.origin} is larger than the limit of {max_bytes} bytes.",
        status=status,
    )
