from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from cryptoagg.bootstrap import check_settings
from cryptoagg.config import load_settings
from cryptoagg.core.errors import ConfigError
from cryptoagg.services.webhooks import (
    AlertRule,
    DeliveryPolicy,
    WebhookNotifier,
    WebhookRefused,
    check_rules,
    check_url,
    describe_url,
    non_global_reason,
)
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.monitoring import AlertRecord, AlertRepository, IncidentRepository
from tests.webhook_receiver import Receiver

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


def an_alert(engine: Engine, kind: str = "opened", provider: str = "kraken") -> AlertRecord:
    incident = IncidentRepository(engine).open(provider, T0, "unavailable: HTTP 500", 3)
    return AlertRepository(engine).add(incident.id, T0, kind, f"{provider} is down")


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


FAST = DeliveryPolicy(attempts=4, timeout_s=2.0, backoff_s=0.5, max_backoff_s=1.5)


# -- the SSRF guard -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "non-global"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_non_global_addresses_are_named(address: str, why: str) -> None:
    assert non_global_reason(address) == why


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_global_addresses_pass(address: str) -> None:
    assert non_global_reason(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.7:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9000/hook",
        "http://localhost:8080/hook",  # a name that resolves to loopback
        "http://2130706433/hook",  # 127.0.0.1 written as one number
    ],
)
def test_non_global_targets_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefused, match="WEBHOOK_ALLOW_PRIVATE"):
        check_url(url, allow_private=False)


def test_refused_when_any_resolved_address_is_not_global() -> None:
    def resolve(host: str, port: int) -> list[str]:
        assert (host, port) == ("hooks.example", 443)
        return ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(WebhookRefused, match=r"private address \(10\.0\.0\.5\)"):
        check_url("https://hooks.example/x", allow_private=False, resolve=resolve)
    target = check_url("https://hooks.example/x", allow_private=True, resolve=resolve)
    assert target.addresses == ["93.184.216.34", "10.0.0.5"]


def test_a_global_host_passes() -> None:
    target = check_url(
        "https://hooks.example:8443/a?b=1", allow_private=False, resolve=lambda h, p: ["8.8.8.8"]
    )
    assert target.addresses == ["8.8.8.8"]
    assert target.url.host == "hooks.example"


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com", "http://"]
)
def test_only_http_urls_with_a_host(url: str, allow_private: bool) -> None:
    with pytest.raises(WebhookRefused):
        check_url(url, allow_private=allow_private, resolve=lambda h, p: ["8.8.8.8"])


def test_private_targets_allowed_when_switched_on() -> None:
    target = check_url("http://localhost:9/hook", allow_private=True)
    assert "127.0.0.1" in target.addresses or "::1" in target.addresses


def test_logged_urls_keep_only_scheme_host_and_port() -> None:
    url = "https://user:pw@hooks.slack.com:8443/services/T0/B0/SECRETTOKEN?token=abc"
    assert describe_url(url) == "https://hooks.slack.com:8443/…"


# -- start-up validation ------------------------------------------------------------------


def test_check_rules_names_the_setting_and_hides_the_path() -> None:
    rules = [AlertRule("http://127.0.0.1/hook/SECRET", "ALERT_WEBHOOK_URL")]
    with pytest.raises(ConfigError) as info:
        check_rules(rules, allow_private=False)
    assert info.value.message.startswith("ALERT_WEBHOOK_URL: webhook URL refused")
    assert "SECRET" not in info.value.message
    check_rules(rules, allow_private=True)


def test_an_unresolvable_host_only_warns_at_start_up() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("no DNS")

    check_rules(
        [AlertRule("https://hooks.example/x", "ALERT_WEBHOOK_URL")],
        allow_private=False,
        resolve=fail,
    )


def test_start_up_refuses_a_loopback_alert_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVIDERS_FILE", raising=False)
    settings = load_settings(data_dir=tmp_path, alert_webhook_url="http://localhost:9/hook")
    with pytest.raises(ConfigError, match=r"^ALERT_WEBHOOK_URL: webhook URL refused"):
        check_settings(settings)
    allowed = load_settings(
        data_dir=tmp_path, alert_webhook_url="http://localhost:9/hook", webhook_allow_private=True
    )
    check_settings(allowed)
    assert "http://localhost:9/hook" in allowed.secrets()


def test_alert_webhook_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "ftp://hooks.example/secret-path")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "ALERT_WEBHOOK_URL" in info.value.message
    assert "secret-path" not in info.value.message


@pytest.mark.parametrize(
    ("yaml_rules", "message"),
    [
        (
            "  - {webhook_url: 'http://10.0.0.1/x'}\n",
            "PROVIDERS_FILE: alerts.0: webhook URL refused",
        ),
        ("  - {webhook_url: 'ftp://hooks.example/x'}\n", "alerts.0.webhook_url"),
        (
            "  - {webhook_url: 'http://10.0.0.1/x', providers: [nope]}\n",
            "alerts.0.providers: unknown provider(s) nope",
        ),
        ("  - {webhook_url: 'http://10.0.0.1/x', events: [exploded]}\n", "alerts.0.events.0"),
        ("  - {webhook_url: 'http://10.0.0.1/x', colour: red}\n", "alerts.0.colour"),
    ],
)
def test_alert_rules_in_the_providers_file_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_rules: str, message: str
) -> None:
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    path = tmp_path / "providers.yaml"
    path.write_text("alerts:\n" + yaml_rules)
    settings = load_settings(data_dir=tmp_path, providers_file=path)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_settings(settings)


# -- delivery -----------------------------------------------------------------------------


async def test_retries_then_success_records_delivery(engine: Engine) -> None:
    alert = an_alert(engine)
    sleeps = Sleeps()
    with Receiver([500, 503, 204]) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hooks/abc?token=t"
        notifier = WebhookNotifier(
            [AlertRule(url, "ALERT_WEBHOOK_URL")],
            AlertRepository(engine),
            allow_private=True,
            policy=FAST,
            sleep=sleeps,
        )
        try:
            assert await notifier.deliver(alert) == (True, 3)
        finally:
            await notifier.aclose()
    assert sleeps.calls == [0.5, 1.0]
    assert len(receiver.requests) == 3
    path, headers, body = receiver.requests[-1]
    assert path == "/hooks/abc?token=t"
    assert headers["content-type"] == "application/json"
    sent = json.loads(body)
    assert sent["event"] == "opened"
    assert sent["provider"] == "kraken"
    assert sent["alert_id"] == alert.id
    assert sent["at"] == "2026-01-01T00:00:00Z"
    assert sent["text"] == "[cryptoagg] kraken is down"
    [stored] = AlertRepository(engine).latest()
    assert (stored.delivered, stored.attempts) == (True, 3)


async def test_gives_up_after_bounded_attempts_with_exponential_backoff(engine: Engine) -> None:
    alert = an_alert(engine)
    sleeps = Sleeps()
    with Receiver([503]) as receiver:
        notifier = WebhookNotifier(
            [AlertRule(f"http://127.0.0.1:{receiver.port}/h", "ALERT_WEBHOOK_URL")],
            AlertRepository(engine),
            allow_private=True,
            policy=FAST,
            sleep=sleeps,
        )
        try:
            assert await notifier.deliver(alert) == (False, 4)
        finally:
            await notifier.aclose()
    assert len(receiver.requests) == 4
    assert sleeps.calls == [0.5, 1.0, 1.5]  # doubling, capped at max_backoff_s
    [stored] = AlertRepository(engine).latest()
    assert (stored.delivered, stored.attempts) == (False, 4)


async def test_a_client_error_is_not_retried(engine: Engine) -> None:
    alert = an_alert(engine)
    with Receiver([404]) as receiver:
        notifier = WebhookNotifier(
            [AlertRule(f"http://127.0.0.1:{receiver.port}/h", "ALERT_WEBHOOK_URL")],
            AlertRepository(engine),
            allow_private=True,
            policy=FAST,
            sleep=Sleeps(),
        )
        try:
            assert await notifier.deliver(alert) == (False, 1)
        finally:
            await notifier.aclose()
    assert len(receiver.requests) == 1


async def test_loopback_receiver_is_refused_without_the_switch(engine: Engine) -> None:
    alert = an_alert(engine)
    with Receiver([204]) as receiver:
        notifier = WebhookNotifier(
            [AlertRule(f"http://localhost:{receiver.port}/h", "ALERT_WEBHOOK_URL")],
            AlertRepository(engine),
            policy=FAST,
            sleep=Sleeps(),
        )
        try:
            assert await notifier.deliver(alert) == (False, 0)
        finally:
            await notifier.aclose()
    assert receiver.requests == []
    [stored] = AlertRepository(engine).latest()
    assert (stored.delivered, stored.attempts) == (False, 0)


async def test_dns_rebinding_after_start_up_is_refused_at_send_time(engine: Engine) -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    rule = AlertRule("http://hooks.example/h", "ALERT_WEBHOOK_URL")
    check_rules([rule], allow_private=False, resolve=rebinding)  # start-up: global, accepted
    notifier = WebhookNotifier(
        [rule], AlertRepository(engine), policy=FAST, resolve=rebinding, sleep=Sleeps()
    )
    try:
        assert await notifier.deliver(an_alert(engine)) == (False, 0)
    finally:
        await notifier.aclose()


async def test_the_request_goes_to_the_checked_address_with_the_original_host(
    engine: Engine,
) -> None:
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    with Receiver([200]) as receiver:
        # `hooks.example` exists nowhere: only the pinned address can reach the receiver
        url = f"http://hooks.example:{receiver.port}/h"
        notifier = WebhookNotifier(
            [AlertRule(url, "ALERT_WEBHOOK_URL")],
            AlertRepository(engine),
            allow_private=True,
            policy=FAST,
            resolve=resolve,
        )
        try:
            assert await notifier.deliver(an_alert(engine)) == (True, 1)
        finally:
            await notifier.aclose()
    assert resolved == ["hooks.example"]
    assert receiver.requests[0][1]["host"] == f"hooks.example:{receiver.port}"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_https_to_the_checked_address_verifies_the_certificate_of_the_host(
    engine: Engine, tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.test"]
    command += ["-addext", "subjectAltName=DNS:hooks.test"]
    await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    with Receiver([204], tls=server_tls) as receiver:
        client = httpx.AsyncClient(verify=trust, trust_env=False)
        notifier = WebhookNotifier(
            [AlertRule(f"https://hooks.test:{receiver.port}/h", "ALERT_WEBHOOK_URL")],
            AlertRepository(engine),
            allow_private=True,
            policy=FAST,
            client=client,
            resolve=lambda h, p: ["127.0.0.1"],
        )
        try:
            assert await notifier.deliver(an_alert(engine)) == (True, 1)
        finally:
            await notifier.aclose()
            await client.aclose()
    assert receiver.requests[0][1]["host"] == f"hooks.test:{receiver.port}"


async def test_rules_filter_by_provider_and_event_and_the_queue_drains(engine: Engine) -> None:
    with Receiver([204]) as receiver:
        base = f"http://127.0.0.1:{receiver.port}"
        rules = [
            AlertRule(f"{base}/kraken", "r0", providers=frozenset({"kraken"})),
            AlertRule(f"{base}/resolved", "r1", events=frozenset({"resolved"})),
        ]
        notifier = WebhookNotifier(
            rules, AlertRepository(engine), allow_private=True, policy=FAST, sleep=Sleeps()
        )
        notifier.start()
        kraken_opened = an_alert(engine, "opened", "kraken")
        binance_opened = an_alert(engine, "opened", "binance")
        binance_resolved = an_alert(engine, "resolved", "binance")
        for alert in (kraken_opened, binance_opened, binance_resolved):
            notifier.notify(alert)
        await notifier.aclose()
    assert sorted(path for path, _, _ in receiver.requests) == ["/kraken", "/resolved"]
    by_id = {a.id: a for a in AlertRepository(engine).latest()}
    assert (by_id[kraken_opened.id].delivered, by_id[kraken_opened.id].attempts) == (True, 1)
    assert (by_id[binance_opened.id].delivered, by_id[binance_opened.id].attempts) == (False, 0)
    assert (by_id[binance_resolved.id].delivered, by_id[binance_resolved.id].attempts) == (True, 1)


async def test_an_alert_without_a_matching_rule_is_left_undelivered(engine: Engine) -> None:
    alert = an_alert(engine, "resolved")
    rule = AlertRule("http://127.0.0.1:9/h", "r0", events=frozenset({"opened"}))
    notifier = WebhookNotifier([rule], AlertRepository(engine), allow_private=True)
    try:
        assert await notifier.deliver(alert) == (False, 0)
    finally:
        await notifier.aclose()
    [stored] = AlertRepository(engine).latest()
    assert (stored.delivered, stored.attempts) == (False, 0)


async def test_redirects_are_not_followed(engine: Engine) -> None:
    with Receiver([307]) as receiver:
        notifier = WebhookNotifier(
            [AlertRule(f"http://127.0.0.1:{receiver.port}/h", "ALERT_WEBHOOK_URL")],
            AlertRepository(engine),
            allow_private=True,
            policy=FAST,
            sleep=Sleeps(),
        )
        try:
            assert await notifier.deliver(an_alert(engine)) == (False, 1)
        finally:
            await notifier.aclose()
    assert len(receiver.requests) == 1
