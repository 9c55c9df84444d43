"""Alert delivery (`services/webhooks.py`): retries with backoff, the outcome stored on the
alert, sent to the checked address only, no redirects; rules filter by provider and event.
Which URLs may be called is in `test_webhook_urls.py`."""

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

from cryptoagg.services.webhooks import AlertRule, DeliveryPolicy, WebhookNotifier, check_rules
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.incidents import AlertRecord, AlertRepository, IncidentRepository
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
