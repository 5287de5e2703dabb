"""Fetch: polite, bounded HTTP with ``requests``.

:class:`Fetcher` follows redirects itself so that every hop passes the same checks: the address
guard, robots.txt and the per-host delay. Bodies are streamed and cut off at a size cap and a
wall-clock deadline, so a hostile server can neither fill memory nor hold a worker.

The address guard (:class:`AddressPolicy`) runs twice: once on the URL before any request, for a
clear refusal reason, and again inside the connection, on the very addresses the socket is about
to use, so DNS answers that change between the two checks (rebinding) cannot slip through.

Hostile servers are bounded as follows. A watchdog shuts the connection down when one request
(headers and body) outlives ``total_timeout_s``, so dripping headers cannot hold a worker either.
Compressed bodies are inflated here, not by urllib3, with ``max_length`` so a gzip bomb never
inflates past the size cap; stacked or unknown encodings are refused. A body whose first bytes
are binary is refused whatever its content type claims.
"""
from __future__ import annotations

import ipaddress
import logging
import random
import re
import socket
import threading
import time
import urllib.robotparser
import weakref
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import connection as urllib3_connection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from mediamon import safe
from mediamon.errors import MediamonError
from mediamon.outcomes import FetchReason, http_reason
from mediamon.settings import FetchSettings

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
RETRY_STATUSES = (500, 502, 503, 504)


class FetchError(MediamonError):
    """A URL could not be fetched. ``reason`` (a :class:`~mediamon.outcomes.FetchReason`, or
    ``http_<status>``) is the short code stored with the URL.

    ``temporary`` errors (timeouts, 5xx, 429) may succeed on a later run; the others will not.
    """

    def __init__(self, reason: FetchReason | str, detail: str = "", *, temporary: bool = False,
                 status: int | None = None):
        detail = redact_userinfo(detail)
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail, self.temporary, self.status = reason, detail, temporary, status


class BlockedAddress(FetchError):
    def __init__(self, detail: str):
        super().__init__(FetchReason.BLOCKED_ADDRESS, detail)


_USERINFO_PASSWORD = re.compile(r"(//[^/@\s:]*):[^/@\s]*@")


def redact_userinfo(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL in it replaced."""
    return _USERINFO_PASSWORD.sub(r"\1:***@", text)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses; False for private, loopback, link-local,
    multicast, reserved and unspecified ones.

    IPv6 addresses that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
    ``::a.b.c.d``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``) are judged by
    that IPv4 address too: a gateway would carry them to it. So is SIIT's IPv4-translated
    ``::ffff:0:a.b.c.d`` (``::ffff:0:0:0/96``, RFC 2765). Deprecated site-local ``fec0::/10``
    (RFC 3879) is never public, whatever Python's ``is_global`` says.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and any(ip in net for net in _IPV4_CARRYING_NETS):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast


_IPV4_CARRYING_NETS = tuple(ipaddress.IPv6Network(n)
                            for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48"))
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a source may connect to.

    Public addresses are always allowed. Anything else is refused unless the exact ``host:port``
    the URL names is in ``allow_private``; an allowed ``127.0.0.1:8701`` does not allow
    ``127.0.0.2:8701``, ``[::1]:8701`` or ``2130706433:8701``.
    """

    allow_private: frozenset[str] = frozenset()
    resolver: Resolver = system_resolver

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host:port``; raises :class:`BlockedAddress`."""
        host = host.strip("[]").lower()
        try:
            resolved = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError(FetchReason.DNS_ERROR, f"{host}: {exc}", temporary=True) from None
        if not resolved:
            raise FetchError(FetchReason.DNS_ERROR, f"{host}: no address", temporary=True)
        if _authority(host, port) in self.allow_private:
            return resolved
        for address in resolved:
            if not is_public_address(address):
                raise BlockedAddress(f"{host}:{port} resolves to non-public address {address}")
        return resolved

    def check_url(self, url: str) -> None:
        if problem := safe.url_problem(url):
            raise FetchError(FetchReason.BAD_URL, f"{url[:200]}: {problem}")
        parts = urlsplit(url)
        self.addresses(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))


ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: "at least 500 kibibytes" are parsed
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 2.3.1.2
_ROBOTS_NUMBER_FIELD = re.compile(r"\s*(crawl-delay|request-rate)\s*:\s*(.*)", re.I)
_ROBOTS_NUMBER = re.compile(r"[0-9]{1,6}(/[0-9]{1,6})?")


def _robots_line_ok(line: str) -> bool:
    """False for a Crawl-delay or Request-rate line whose value is not a short ASCII number:
    urllib.robotparser checks them with ``str.isdigit()`` (true for "²") and then ``int()``
    raises, for the whole file. Such a line is dropped; the rules around it still count."""
    match = _ROBOTS_NUMBER_FIELD.match(line)
    return match is None or bool(_ROBOTS_NUMBER.fullmatch(match.group(2).split("#", 1)[0].strip()))


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _guarded_session(policy: AddressPolicy, user_agent: str, sockets: weakref.WeakSet) -> requests.Session:
    """A session whose every new connection re-checks, and then uses, the vetted addresses.

    Every connected socket (after TLS wrapping, if any) is added to ``sockets`` so the fetch
    watchdog can shut it down; http.client drops its own reference before the body is read.
    """

    def guarded(base: type) -> type:
        class GuardedConnection(base):
            def _new_conn(self) -> socket.socket:
                last_error: OSError | None = None
                for address in policy.addresses(self.host, self.port):
                    try:
                        return urllib3_connection.connection.create_connection(
                            (address, self.port), self.timeout, source_address=self.source_address,
                            socket_options=self.socket_options)
                    except OSError as exc:
                        last_error = exc
                raise urllib3_connection.NewConnectionError(self, f"cannot connect: {last_error}")

            def connect(self) -> None:
                super().connect()
                sockets.add(self.sock)

        return GuardedConnection

    adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=4)
    adapter.poolmanager.pool_classes_by_scheme = {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,),
                     {"ConnectionCls": guarded(urllib3_connection.HTTPConnection)}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                      {"ConnectionCls": guarded(urllib3_connection.HTTPSConnection)}),
    }
    session = requests.Session()
    # Proxies from the environment would connect on our behalf and bypass the address guard.
    session.trust_env = False
    session.headers["User-Agent"] = user_agent
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    not_modified: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The declared charset when it looks like a charset label (ASCII, short), else None."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            value = value.strip().strip("\"'").lower()
            if key.strip().lower() == "charset" and _CHARSET_LABEL.fullmatch(value):
                return value
        return None


_CHARSET_LABEL = re.compile(r"[a-z0-9._:()+-]{1,40}")
# Validators sent back in If-None-Match / If-Modified-Since: visible ASCII only, so that a
# hostile ETag can never make the next request invalid.
_VALIDATOR = re.compile(r"[\x20-\x7e]{1,512}")


@dataclass
class Fetcher:
    """Fetches URLs for one source. Not thread-safe: use one per worker."""

    settings: FetchSettings = field(default_factory=FetchSettings)
    allow_private: Iterable[str] = ()
    crawl_delay_s: float | None = None
    resolver: Resolver = system_resolver
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.policy = AddressPolicy(frozenset(a.lower() for a in self.allow_private), self.resolver)
        self._sockets: weakref.WeakSet = weakref.WeakSet()
        self.session = _guarded_session(self.policy, self.settings.user_agent, self._sockets)
        # host -> (time loaded, parser or None for "no rules", or the error that made it unavailable)
        self._robots: dict[str, tuple[float, urllib.robotparser.RobotFileParser | None | FetchError]] = {}
        self._last_request: dict[str, float] = {}

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            check_robots: bool = True) -> FetchResult:
        """GET ``url`` following redirects. Raises :class:`FetchError` with a reason code."""
        headers = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.1",
                   "Accept-Encoding": "gzip, deflate"}
        if etag and _VALIDATOR.fullmatch(etag):
            headers["If-None-Match"] = etag
        if last_modified and _VALIDATOR.fullmatch(last_modified):
            headers["If-Modified-Since"] = last_modified
        current, seen = url, set()
        for _ in range(self.settings.max_redirects + 1):
            if current in seen:
                raise FetchError(FetchReason.REDIRECT_LOOP, current)
            seen.add(current)
            self.policy.check_url(current)
            if check_robots and not self._robots_allow(current):
                raise FetchError(FetchReason.ROBOTS_DISALLOWED, current)
            response = self._request(current, headers)
            if response.status in REDIRECT_STATUSES and response.headers.get("location"):
                current = _redirect_target(current, response.headers["location"])
                continue
            if response.status == 304:
                response.not_modified = True
                return response
            if response.status >= 400:
                raise FetchError(http_reason(response.status), current, status=response.status,
                                 temporary=response.status in (408, 425, 429) or response.status >= 500)
            if not response.body:
                raise FetchError(FetchReason.EMPTY_BODY, current, status=response.status)
            if response.content_type and response.content_type not in self.settings.accepted_content_types:
                raise FetchError(FetchReason.CONTENT_TYPE, response.content_type, status=response.status)
            if looks_binary(response.body[:self.settings.sniff_bytes]):
                raise FetchError(FetchReason.BINARY_BODY, f"{current} declared {response.content_type or 'no type'}",
                                 status=response.status)
            return response
        raise FetchError(FetchReason.TOO_MANY_REDIRECTS, url)

    # -- one request, with retries ---------------------------------------------------------------

    def _request(self, url: str, headers: dict[str, str]) -> FetchResult:
        attempt = 0
        while True:
            self._wait_turn(url)
            try:
                result = self._once(url, headers)
            except FetchError as exc:
                if not exc.temporary or attempt >= self.settings.max_retries:
                    raise
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            if result.status in (429, 503) and attempt < self.settings.max_retries:
                wait = retry_after_seconds(result.headers.get("retry-after"))
                if wait is not None and wait > self.settings.max_retry_after_s:
                    return result  # the server asks for longer than we wait; a later run retries
                self.sleep(wait if wait is not None else self._backoff(attempt))
                attempt += 1
                continue
            if result.status in RETRY_STATUSES and attempt < self.settings.max_retries:
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            return result

    def _backoff(self, attempt: int) -> float:
        # Jitter keeps many workers from retrying a recovering server in lockstep.
        return self.settings.backoff_base_s * (2 ** attempt) * (1 + random.random() / 2)

    def _once(self, url: str, headers: dict[str, str], max_bytes: int | None = None,
              truncate: bool = False) -> FetchResult:
        """One request. Raises :class:`FetchError`; never waits past ``total_timeout_s``.
        ``truncate`` keeps the first ``max_bytes`` of a longer body instead of refusing it."""
        cap = max_bytes or self.settings.max_body_bytes
        expired = threading.Event()

        def abort() -> None:
            # Shutting the socket down wakes the read blocked on it, whatever stage it is in.
            expired.set()
            for sock in list(self._sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed

        watchdog = threading.Timer(self.settings.total_timeout_s, abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            result = self._exchange(url, headers, cap, truncate)
        except FetchError:
            if not expired.is_set():
                raise
        finally:
            watchdog.cancel()
        if expired.is_set():
            # Whatever came back, or failed, was cut short by the watchdog: it is incomplete.
            raise FetchError(FetchReason.TIMEOUT, f"no complete response after {self.settings.total_timeout_s}s",
                             temporary=True)
        return result

    def _exchange(self, url: str, headers: dict[str, str], cap: int, truncate: bool = False) -> FetchResult:
        try:
            response = self.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                        timeout=(self.settings.connect_timeout_s, self.settings.read_timeout_s))
        except FetchError:
            raise
        except requests.Timeout as exc:
            raise FetchError(FetchReason.TIMEOUT, str(exc), temporary=True) from None
        except (requests.RequestException, ValueError, UnicodeError) as exc:
            cause = exc.__context__
            while cause is not None and not isinstance(cause, FetchError):
                cause = cause.__context__
            if isinstance(cause, FetchError):
                raise cause from None
            if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader,
                                ValueError, UnicodeError)):
                # requests and urllib3 refuse the URL or a header before sending: not temporary.
                raise FetchError(FetchReason.BAD_URL, str(exc)[:300]) from None
            raise FetchError(FetchReason.CONNECTION_ERROR, str(exc), temporary=True) from None
        try:
            declared = response.headers.get("content-length", "")
            if not truncate and _DELTA_SECONDS.fullmatch(declared) and int(declared) > cap:
                raise FetchError(FetchReason.TOO_LARGE, f"content-length {declared} > {cap}")
            body = _read_body(response.raw, response.headers.get("content-encoding", ""), cap, truncate)
        except FetchError:
            raise
        except Exception as exc:  # socket, urllib3 protocol and zlib errors: a broken transfer
            if "timed out" in str(exc).lower():
                raise FetchError(FetchReason.TIMEOUT, str(exc), temporary=True) from None
            raise FetchError(FetchReason.CONNECTION_ERROR, f"body: {exc}", temporary=True) from None
        finally:
            response.close()
        return FetchResult(url=url, final_url=url, status=response.status_code,
                           headers=safe.clean_headers(response.headers), body=body)

    # -- politeness ------------------------------------------------------------------------------

    def _wait_turn(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        delay = self.settings.min_host_delay_s if self.crawl_delay_s is None else self.crawl_delay_s
        robots = self._robots.get(host)
        if robots and isinstance(robots[1], urllib.robotparser.RobotFileParser):
            asked = float(robots[1].crawl_delay(self.settings.user_agent) or 0)
            # A robots.txt asking for hours between requests must not park the worker that long.
            delay = max(delay, min(asked, self.settings.max_crawl_delay_s))
        last = self._last_request.get(host)
        if last is not None:
            wait = last + delay - time.monotonic()
            if wait > 0:
                self.sleep(wait)
        self._last_request[host] = time.monotonic()

    def _robots_allow(self, url: str) -> bool:
        """Whether robots.txt allows ``url``. An unavailable robots.txt raises, and is remembered
        for ``robots_failure_ttl_s`` so a hanging one costs one timeout per host, not per URL."""
        parts = urlsplit(url)
        host = parts.netloc.lower()
        cached = self._robots.get(host)
        if cached is not None:
            ttl = (self.settings.robots_failure_ttl_s if isinstance(cached[1], FetchError)
                   else self.settings.robots_cache_ttl_s)
            if time.monotonic() - cached[0] > ttl:
                cached = None
        if cached is None:
            try:
                rules = self._load_robots(f"{parts.scheme}://{parts.netloc}/robots.txt")
            except FetchError as exc:
                rules = exc
            cached = self._robots[host] = (time.monotonic(), rules)
        rules = cached[1]
        if isinstance(rules, FetchError):
            raise rules
        return True if rules is None else rules.can_fetch(self.settings.user_agent, url)

    def _load_robots(self, robots_url: str) -> urllib.robotparser.RobotFileParser | None:
        """Parse robots.txt as RFC 9309 says; None means "no rules".

        Up to :data:`ROBOTS_MAX_REDIRECTS` redirects are followed, each hop through the address
        guard. 4xx (robots.txt absent) allows everything, except 429, which like 5xx and an
        unreachable server makes robots.txt "unavailable": a temporary error, nothing is fetched
        from the host until it is known. Only the first :data:`ROBOTS_MAX_BYTES` are parsed.
        """
        url = robots_url
        try:
            for _ in range(ROBOTS_MAX_REDIRECTS + 1):
                self.policy.check_url(url)
                self._wait_turn(url)
                result = self._once(url, {"Accept": "text/plain", "Accept-Encoding": "gzip, deflate"},
                                    max_bytes=ROBOTS_MAX_BYTES, truncate=True)
                if result.status in REDIRECT_STATUSES and result.headers.get("location"):
                    url = _redirect_target(url, result.headers["location"])
                    continue
                break
            else:
                return None  # RFC 9309 2.3.1.2: past 5 redirects, robots.txt counts as unavailable 4xx
        except FetchError as exc:
            raise FetchError(FetchReason.ROBOTS_UNAVAILABLE, f"{robots_url}: {exc}", temporary=True) from None
        if result.status == 429 or result.status >= 500:
            raise FetchError(FetchReason.ROBOTS_UNAVAILABLE, f"{robots_url}: HTTP {result.status}", temporary=True)
        if result.status >= 300:
            return None
        parser = urllib.robotparser.RobotFileParser(robots_url)
        lines = result.body.decode("utf-8", "replace").splitlines()
        parser.parse([line for line in lines if _robots_line_ok(line)])
        return parser


def _redirect_target(current: str, location: str) -> str:
    """The next hop of a redirect, without userinfo. A Location that does not make a URL we
    could request (malformed IPv6 host, port 99999, NUL, 20 kB) is a ``bad_url`` failure."""
    try:
        target = safe.strip_userinfo(urljoin(current, location.strip()))
    except ValueError as exc:
        raise FetchError(FetchReason.BAD_URL, f"redirect to {location[:200]!r}: {exc}") from None
    if problem := safe.url_problem(target):
        raise FetchError(FetchReason.BAD_URL, f"redirect to {target[:200]!r}: {problem}")
    return target


# delta-seconds is 1*DIGIT in ASCII; str.isdigit() also accepts "²" and "٣", which int() refuses.
_DELTA_SECONDS = re.compile(r"[0-9]{1,12}")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None when the
    header is missing or malformed."""
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


_READ_CHUNK = 16384


def looks_binary(head: bytes) -> bool:
    """True when ``head`` (a body's first bytes) holds bytes that never occur in text.

    The WHATWG MIME sniffing rule: a control byte other than whitespace and ESC marks binary
    data. UTF-16 text (which is full of NUL bytes) is recognised by its byte-order mark.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return any(byte in _BINARY_BYTES for byte in head)


_BINARY_BYTES = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def _read_body(raw, content_encoding: str, cap: int, truncate: bool = False) -> bytes:
    """Read a response body of at most ``cap`` bytes, inflating gzip or deflate ourselves.

    Every inflate call is bounded by ``max_length``, so a gzip bomb is cut off just past ``cap``
    however well it compresses. Stacked ("gzip, gzip") and unknown encodings are refused.
    ``read1`` returns whatever has arrived, so a dripping body cannot stall one large read.
    With ``truncate``, a longer body gives its first ``cap`` bytes instead of ``too_large``.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        inflater = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(31 if "gzip" in encoding else 15)
    else:
        raise FetchError(FetchReason.CONTENT_ENCODING, f"unsupported content-encoding {content_encoding!r}")
    chunks, size, wire_size = [], 0, 0
    while True:
        data = raw.read1(_READ_CHUNK, decode_content=False)
        if not data:
            return b"".join(chunks)
        wire_size += len(data)
        if inflater is not None:
            try:
                data = _inflate(inflater, data, cap - size)
            except zlib.error as exc:
                raise FetchError(FetchReason.BAD_ENCODING, f"{encoding}: {exc}") from None
        size += len(data)
        if size > cap or wire_size > cap:
            if truncate:
                chunks.append(data)
                return b"".join(chunks)[:cap]
            raise FetchError(FetchReason.TOO_LARGE, f"body over {cap} bytes")
        chunks.append(data)


def _inflate(inflater, data: bytes, room: int) -> bytes:
    """Inflate ``data``, stopping once the output passes ``room`` bytes (the caller then refuses
    the body); so one call never returns more than ``room`` + one chunk."""
    out, produced = [], 0
    while data and produced <= room and not inflater.eof:
        piece = inflater.decompress(data, _READ_CHUNK)
        out.append(piece)
        produced += len(piece)
        data = inflater.unconsumed_tail
    return b"".join(out)


def policy_for_sources(sources_settings: Sequence[Mapping[str, Any]]) -> tuple[frozenset[str], float | None]:
    """The fetch policy of a URL listed by several sources: the private ``host:port`` pairs any
    of them allows (an allowlist names exact hosts, so it only ever applies to those hosts), and
    the longest crawl delay any of them asks for (None: the default)."""
    allowed = frozenset(entry.lower() for cfg in sources_settings for entry in (cfg.get("allow_private") or ()))
    delays = [float(cfg["crawl_delay_s"]) for cfg in sources_settings if cfg.get("crawl_delay_s") is not None]
    return allowed, max(delays) if delays else None


def fetcher_for_source(settings: FetchSettings, source_settings: Mapping[str, Any]) -> Fetcher:
    """A fetcher with a source's politeness and address allowlist (``sources.settings``)."""
    return Fetcher(settings, allow_private=source_settings.get("allow_private") or (),
                   crawl_delay_s=source_settings.get("crawl_delay_s"))
