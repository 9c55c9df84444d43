"""Which webhook URLs may be called (`services/webhook_urls.py`, judged by
`services/webhook_addresses.py`) and what start-up refuses (`check_rules`, `check_settings`).
Every spelling of an address is in `test_webhook_addresses.py`; delivery in
`test_webhooks.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptoagg.bootstrap import check_settings
from cryptoagg.config import load_settings
from cryptoagg.core.errors import ConfigError
from cryptoagg.services.webhook_addresses import WebhookRefused, non_global_reason
from cryptoagg.services.webhook_urls import check_url, describe_url
from cryptoagg.services.webhooks import AlertRule, check_rules


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
