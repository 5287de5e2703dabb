"""The SSRF guard: which addresses a fetch may reach.

Private and public addresses are tested only as unit tests: a resolver stub answers, and no
connection is opened. Live refusals use loopback addresses that are not on the allowlist
(127.0.0.2, [::1], 2130706433, 0x7f000001), watched by decoy listeners that must see nothing.
"""
from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from hostile_server import Decoy, HostileServer
from mediamon.fetch import AddressPolicy, BlockedAddress, Fetcher, FetchError, is_public_address
from mediamon.settings import FetchSettings

NOT_PUBLIC = [
    "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1", "127.0.0.1", "127.0.0.2",
    "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456:789a::1", "ff02::1", "2001:db8::1",
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:192.168.0.1", "::a00:1", "64:ff9b::a00:1", "2002:a00:1::1",
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert is_public_address(address)


def stub(answers: dict[str, list[str]]):
    """A resolver that answers from ``answers``, or parses IPv4 numbers in every legacy form
    (decimal, octal, hex, shortened) the way getaddrinfo does, locally."""
    def resolve(host: str, port: int) -> list[str]:
        if host in answers:
            return answers[host]
        try:
            return [str(ipaddress_of(host))]
        except OSError:
            raise socket.gaierror(f"stub has no answer for {host}") from None
    return resolve


def ipaddress_of(host: str) -> str:
    if ":" in host:
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host))
    return socket.inet_ntoa(socket.inet_aton(host))


@pytest.mark.parametrize("url, address", [
    ("http://intranet.example/", "10.0.0.5"),
    ("http://db.internal:5432/", "172.20.1.1"),
    ("http://router.lan/", "192.168.0.1"),
    ("http://metadata.cloud/latest/", "169.254.169.254"),
    ("http://v6.internal/", "fd00::5"),
    ("http://mapped.internal/", "::ffff:10.0.0.1"),
    ("http://nat64.internal/", "64:ff9b::a00:1"),
])
def test_hostnames_resolving_to_private_addresses_are_refused(url, address):
    policy = AddressPolicy(resolver=stub({url.split("/")[2].split(":")[0]: [address]}))
    with pytest.raises(BlockedAddress, match=address):
        policy.check_url(url)


def test_one_private_answer_among_public_ones_is_enough_to_refuse():
    policy = AddressPolicy(resolver=stub({"mixed.example": ["93.184.216.34", "10.0.0.1"]}))
    with pytest.raises(BlockedAddress):
        policy.check_url("http://mixed.example/")


@pytest.mark.parametrize("host", [
    "167772161",        # 10.0.0.1 in decimal
    "012.0.0.1",        # 10.0.0.1 with an octal first part
    "0xa.0.0.1",        # hex first part
    "0x0a000001",       # one hex number
    "10.1",             # shortened: 10.0.0.1
    "3232235521",       # 192.168.0.1
    "0300.0250.0.1",    # 192.168.0.1 in octal
    "2130706433",       # 127.0.0.1
    "0177.0.0.1",
    "[::ffff:10.0.0.1]",
    "[fc00::1]",
    "[fe80::1]",
])
def test_numeric_ip_forms_are_judged_by_the_address_they_mean(host):
    with pytest.raises(BlockedAddress):
        AddressPolicy(resolver=stub({})).check_url(f"http://{host}/")


def test_public_hostnames_pass_the_check():
    # check_url only resolves (through the stub); nothing connects.
    AddressPolicy(resolver=stub({"news.example.cn": ["93.184.216.34"]})).check_url("http://news.example.cn/a.html")


def test_allowlist_names_exact_host_and_port():
    policy = AddressPolicy(frozenset({"127.0.0.1:8701"}), resolver=stub({"localhost": ["127.0.0.1"]}))
    policy.check_url("http://127.0.0.1:8701/")
    for url in ("http://127.0.0.1:8702/", "http://127.0.0.2:8701/", "http://localhost:8701/",
                "http://2130706433:8701/", "http://[::1]:8701/"):
        with pytest.raises(BlockedAddress):
            policy.check_url(url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "file:///etc/passwd", "http:///nohost", "gopher://x/"])
def test_non_http_urls_are_refused(url):
    with pytest.raises(FetchError, match="bad_url"):
        AddressPolicy(resolver=stub({})).check_url(url)


def test_the_connection_rechecks_the_addresses_it_uses():
    """DNS rebinding: the first answer (checked, never connected to) is public, every later one
    is a loopback address off the allowlist. The connection itself must refuse."""
    calls = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["93.184.216.34"] if len(calls) == 1 else ["127.0.0.2"]

    decoy = Decoy("127.0.0.2", 0)
    port = decoy.sock.getsockname()[1]
    try:
        settings = replace(FetchSettings(), connect_timeout_s=1, read_timeout_s=1, max_retries=0)
        with Fetcher(settings, resolver=rebinding) as fetcher:
            with pytest.raises(FetchError) as caught:
                fetcher.get(f"http://rebind.example:{port}/", check_robots=False)
    finally:
        decoy.close()
    assert caught.value.reason == "blocked_address"
    assert len(calls) == 2 and decoy.connections == 0


# --- live: loopback only -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with HostileServer() as main:
        decoys = [Decoy("127.0.0.2", main.port)]
        try:
            decoys.append(Decoy("::1", main.port))
        except OSError:
            pass  # no IPv6 loopback on this machine
        yield main, decoys
        for decoy in decoys:
            decoy.close()


@pytest.mark.parametrize("host", ["127.0.0.2", "[::1]", "2130706433", "0x7f000001", "0177.0.0.1"])
def test_loopback_addresses_off_the_allowlist_are_refused_before_connecting(server, host):
    main, decoys = server
    settings = replace(FetchSettings(), min_host_delay_s=0)
    with Fetcher(settings, allow_private=[main.authority]) as fetcher:
        assert fetcher.get(f"{main.url}/ok/allowed").status == 200
        with pytest.raises(FetchError) as caught:
            fetcher.get(f"http://{host}:{main.port}/ok/refused")
    assert caught.value.reason == "blocked_address"
    assert main.hits["/ok/refused"] == 0 and all(d.connections == 0 for d in decoys)
