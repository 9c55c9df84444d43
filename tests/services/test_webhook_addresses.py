"""The SSRF guard against every spelling of an address: IPv6 forms that carry IPv4 (mapped,
SIIT, compatible, 6to4, Teredo, NAT64, ISATAP), IPv4 literals in the C resolver's notations
and zone ids; each checked written into the URL and as the answer for a name, through the
resolver the guard really uses (`socket.getaddrinfo`, patched)."""

from __future__ import annotations

import ipaddress
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from sqlalchemy import Engine

from cryptoagg.bootstrap import check_settings
from cryptoagg.config import load_settings
from cryptoagg.core.errors import ConfigError
from cryptoagg.services import webhook_addresses
from cryptoagg.services.webhook_addresses import (
    WebhookRefused,
    embedded_ipv4,
    literal_address,
    refusal,
)
from cryptoagg.services.webhook_urls import check_url
from cryptoagg.services.webhooks import AlertRule, DeliveryPolicy, WebhookNotifier
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.incidents import AlertRepository, IncidentRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Form(NamedTuple):
    address: str
    why: str | None  # None: allowed
    inside: str | None = None  # the embedded IPv4 address the refusal names


FORMS: list[Form] = [
    # plain addresses, for contrast
    Form("8.8.8.8", None),
    Form("2606:4700:4700::1111", None),
    Form("127.0.0.1", "loopback"),
    Form("::1", "loopback"),
    Form("::", "unspecified"),
    Form("fe80::1", "link-local"),
    # IPv4-mapped ::ffff:0:0/96
    Form("::ffff:8.8.8.8", None),
    Form("::ffff:127.0.0.1", "loopback", "127.0.0.1"),
    Form("::ffff:169.254.169.254", "link-local", "169.254.169.254"),
    Form("::ffff:10.0.0.1", "private", "10.0.0.1"),
    # SIIT IPv4-translated ::ffff:0:0:0/96: obsolete, refused whatever it carries
    Form("::ffff:0:127.0.0.1", "loopback", "127.0.0.1"),
    Form("::ffff:0:192.168.1.1", "private", "192.168.1.1"),
    Form("::ffff:0:8.8.8.8", "reserved"),
    # IPv4-compatible ::/96: deprecated, refused whatever it carries
    Form("::127.0.0.1", "loopback", "127.0.0.1"),
    Form("::169.254.169.254", "link-local", "169.254.169.254"),
    Form("::8.8.8.8", "reserved"),
    # 6to4 2002::/16 (the two addresses first)
    Form("2002:7f00:1::", "loopback", "127.0.0.1"),
    Form("2002:a9fe:a9fe::", "link-local", "169.254.169.254"),
    Form("2002:7f00:1::1", "loopback", "127.0.0.1"),
    Form("2002:a00:1:1::1", "private", "10.0.0.1"),
    Form("2002:6440:1::1", "non-global", "100.64.0.1"),  # shared address space
    Form("2002:808:808::1", None),
    Form("2002:101:101:ffff::1", None),
    # Teredo 2001::/32: server and (inverted) client both judged
    Form("2001:0:4136:e378:8000:63bf:f7f7:f7f7", None),  # 65.54.227.120, client 8.8.8.8
    Form("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback", "127.0.0.1"),  # client
    Form("2001:0:4136:e378:8000:63bf:5601:5601", "link-local", "169.254.169.254"),  # client
    Form("2001:0:a00:1:8000:63bf:f7f7:f7f7", "private", "10.0.0.1"),  # server
    Form("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private", "192.0.2.45"),  # RFC 4380's example
    # NAT64 well-known prefix 64:ff9b::/96
    Form("64:ff9b::8.8.8.8", None),
    Form("64:ff9b::127.0.0.1", "loopback", "127.0.0.1"),
    Form("64:ff9b::a9fe:a9fe", "link-local", "169.254.169.254"),
    Form("64:ff9b::192.168.0.1", "private", "192.168.0.1"),
    # NAT64 local-use 64:ff9b:1::/48: not globally reachable, refused whatever it carries
    Form("64:ff9b:1::127.0.0.1", "loopback", "127.0.0.1"),
    Form("64:ff9b:1::10.0.0.1", "private", "10.0.0.1"),
    Form("64:ff9b:1::8.8.8.8", "reserved"),
    # ISATAP interface ids ([0-3]00:5efe:a.b.c.d) under a global prefix
    Form("2606:4700::5efe:127.0.0.1", "loopback", "127.0.0.1"),
    Form("2606:4700::200:5efe:10.0.0.1", "private", "10.0.0.1"),
    Form("2606:4700::200:5efe:8.8.8.8", None),
    Form("fe80::5efe:8.8.8.8", "link-local"),
]
ALLOWED = [f for f in FORMS if f.why is None]
REFUSED = [f for f in FORMS if f.why is not None]


def never_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"a literal host was looked up: {host}")


def literal_url(address: str) -> str:
    return f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook"


def canonical(address: str) -> str:
    return str(ipaddress.ip_address(address))


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names and their answers, served by the `socket.getaddrinfo` the guard calls."""
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)  # what system_resolve calls
    return answers


def test_the_table_covers_every_form_allowed_and_refused() -> None:
    forms = {(c.name if (c := carrier(f.address)) else "plain") for f in FORMS}
    assert forms == {
        "plain",
        "IPv4-mapped",
        "SIIT IPv4-translated",
        "deprecated IPv4-compatible",
        "6to4",
        "Teredo",
        "NAT64",
        "NAT64 local-use",
        "ISATAP",
    }
    assert (len(ALLOWED), len(REFUSED)) == (8, 31)


def carrier(address: str) -> webhook_addresses.Carrier | None:
    ip = ipaddress.ip_address(address)
    return webhook_addresses.carrier_of(ip) if isinstance(ip, ipaddress.IPv6Address) else None


@pytest.mark.parametrize("form", FORMS, ids=[f.address for f in FORMS])
def test_every_form_is_judged_by_what_it_carries(form: Form) -> None:
    found = refusal(form.address)

    if form.why is None:
        assert found is None
        return
    assert found is not None
    assert found.why == form.why
    if form.inside is not None:
        form_of = carrier(form.address)
        name = "IPv4-mapped" if form_of is None else form_of.name
        assert found.detail == f"{form.inside} inside the {name} address {form.address}"
    else:
        assert found.detail.startswith(form.address)


@pytest.mark.parametrize("form", FORMS, ids=[f.address for f in FORMS])
def test_every_form_written_in_the_url(form: Form) -> None:
    url = literal_url(form.address)

    if form.why is None:
        target = check_url(url, allow_private=False, resolve=never_resolve)
        assert target.addresses == [canonical(form.address)]
    else:
        with pytest.raises(WebhookRefused, match=rf"^host is a {form.why} address \("):
            check_url(url, allow_private=False, resolve=never_resolve)
    # the switch lets every one of them through, still without a lookup
    assert check_url(url, allow_private=True, resolve=never_resolve).addresses == [
        canonical(form.address)
    ]


@pytest.mark.parametrize("form", FORMS, ids=[f.address for f in FORMS])
def test_every_form_as_a_dns_answer(form: Form, dns: dict[str, list[str]]) -> None:
    # one good answer does not excuse a bad one, in either order
    dns["hooks.example"] = ["93.184.216.34", form.address]
    dns["hooks2.example"] = [form.address, "2606:4700:4700::1111"]

    for name in ("hooks.example", "hooks2.example"):
        url = f"https://{name}/hook"
        if form.why is None:
            target = check_url(url, allow_private=False)
            assert form.address in target.addresses
        else:
            message = rf"^host resolves to a {form.why} address \("
            with pytest.raises(WebhookRefused, match=message) as caught:
                check_url(url, allow_private=False)
            if form.inside is not None:
                assert f"{form.inside} inside the " in caught.value.message


def test_embedded_addresses_of_a_teredo_address_are_server_and_client() -> None:
    assert embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2")) == [
        ipaddress.IPv4Address("65.54.227.120"),
        ipaddress.IPv4Address("192.0.2.45"),
    ]
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700:4700::1111")) == []


# -- IPv4 literals as the C resolver reads them ------------------------------------------

NUMERIC_HOSTS: list[tuple[str, str]] = [
    ("2130706433", "127.0.0.1"),  # one 32-bit number
    ("0x7f000001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),  # octal
    ("0x7f.1", "127.0.0.1"),  # a.b: 8 + 24 bits
    ("127.1", "127.0.0.1"),
    ("0177.0.1", "127.0.0.1"),  # a.b.c: 8 + 8 + 16 bits
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("012.0.1", "10.0.0.1"),  # 012 is octal: 10
    ("134744072", "8.8.8.8"),
    ("0x8.0x8.0x8.0x8", "8.8.8.8"),
]


@pytest.mark.parametrize(("host", "address"), NUMERIC_HOSTS)
def test_numeric_hosts_are_read_as_the_c_resolver_reads_them(host: str, address: str) -> None:
    assert str(literal_address(host)) == address
    numeric = socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    assert {info[4][0] for info in numeric} == {address}


@pytest.mark.parametrize(("host", "address"), NUMERIC_HOSTS)
def test_numeric_hosts_are_checked_as_their_address_and_never_looked_up(
    host: str, address: str
) -> None:
    url = f"http://{host}/hook"
    why = refusal(address)
    if why is None:
        assert check_url(url, allow_private=False, resolve=never_resolve).addresses == [address]
    else:
        with pytest.raises(WebhookRefused, match=rf"host is a {why.why} address \({address}\)"):
            check_url(url, allow_private=False, resolve=never_resolve)


@pytest.mark.parametrize(
    "host", ["1.2.3.4.5", "4294967296", "08.0.1", "0x", "256.1", "1.2.65536", "hooks.123"]
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_host_ending_in_a_number_must_be_a_valid_ipv4_address(
    host: str, allow_private: bool
) -> None:
    with pytest.raises(WebhookRefused, match=r"^not a valid IPv4 address: "):
        check_url(f"http://{host}/hook", allow_private=allow_private, resolve=never_resolve)


@pytest.mark.parametrize("host", ["0177.0.0.1", "012.0.0.1", "08.0.0.1"])
@pytest.mark.parametrize("allow_private", [False, True])
def test_leading_zero_dotted_quads_are_refused_as_invalid_urls(
    host: str, allow_private: bool
) -> None:
    # httpx refuses these itself; the C resolver would read 0177.0.0.1 as 127.0.0.1
    with pytest.raises(WebhookRefused, match=r"^not a valid URL$"):
        check_url(f"http://{host}/hook", allow_private=allow_private, resolve=never_resolve)


def test_a_trailing_dot_does_not_hide_a_literal() -> None:
    with pytest.raises(WebhookRefused, match=r"host is a loopback address \(127\.0\.0\.1\)"):
        check_url("http://127.0.0.1./hook", allow_private=False, resolve=never_resolve)


@pytest.mark.parametrize(
    "url", ["http://[fe80::1%25eth0]/hook", "http://[2606:4700:4700::1111%25eth0]:8080/hook"]
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_ipv6_zone_ids_are_refused(url: str, allow_private: bool) -> None:
    with pytest.raises(WebhookRefused, match=r"^IPv6 zone ids are not allowed"):
        check_url(url, allow_private=allow_private, resolve=never_resolve)


def test_a_zone_id_in_a_dns_answer_does_not_change_the_verdict() -> None:
    with pytest.raises(WebhookRefused, match=r"link-local address \(fe80::1\)"):
        check_url("http://hooks.example/", allow_private=False, resolve=lambda h, p: ["fe80::1%2"])


# -- through start-up and delivery, with the real resolver patched -------------------------


def test_start_up_refuses_a_name_resolving_to_6to4_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dns: dict[str, list[str]]
) -> None:
    monkeypatch.delenv("PROVIDERS_FILE", raising=False)
    dns["hooks.example"] = ["2002:7f00:1::1"]
    settings = load_settings(data_dir=tmp_path, alert_webhook_url="https://hooks.example/T/SECRET")

    with pytest.raises(ConfigError) as caught:
        check_settings(settings)

    assert caught.value.message == (
        "ALERT_WEBHOOK_URL: webhook URL refused: host resolves to a loopback address "
        "(127.0.0.1 inside the 6to4 address 2002:7f00:1::1); "
        "set WEBHOOK_ALLOW_PRIVATE=true to allow it"
    )


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    upgrade(eng)
    return eng


class Sent:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204)


@pytest.mark.parametrize(
    ("answer", "delivered"),
    [
        ("2002:7f00:1::1", False),
        ("2002:a9fe:a9fe::", False),
        ("64:ff9b::7f00:1", False),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),
        ("2002:808:808::1", True),
        ("64:ff9b::808:808", True),
    ],
)
async def test_delivery_checks_the_dns_answer_and_sends_to_that_address(
    engine: Engine, dns: dict[str, list[str]], answer: str, delivered: bool
) -> None:
    dns["hooks.example"] = [answer]
    incident = IncidentRepository(engine).open("kraken", T0, "down", 3)
    alert = AlertRepository(engine).add(incident.id, T0, "opened", "kraken is down")
    sent = Sent()
    client = httpx.AsyncClient(transport=httpx.MockTransport(sent))
    notifier = WebhookNotifier(
        [AlertRule("http://hooks.example:8080/h", "ALERT_WEBHOOK_URL")],
        AlertRepository(engine),
        policy=DeliveryPolicy(attempts=2, backoff_s=0),
        client=client,
    )
    try:
        outcome = await notifier.deliver(alert)
    finally:
        await notifier.aclose()
        await client.aclose()

    if not delivered:
        assert outcome == (False, 0)
        assert sent.requests == []
        return
    assert outcome == (True, 1)
    [request] = sent.requests
    assert request.url.host == canonical(answer)  # pinned to the checked address
    assert request.headers["host"] == "hooks.example:8080"
