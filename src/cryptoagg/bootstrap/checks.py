"""What start-up would refuse, checked before anything is built (or a server binds its port)."""

from __future__ import annotations

from cryptoagg.config import Settings, prepare_data_dir
from cryptoagg.core.errors import ConfigError
from cryptoagg.core.models import Capability
from cryptoagg.providers.registry import adapters
from cryptoagg.services.sentiment import check_backend
from cryptoagg.services.webhooks import AlertRule, check_rules


def check_known_providers(settings: Settings) -> None:
    config = settings.providers_config()
    known = {cls.name for cls in adapters()}
    named = set(config.providers) | {m for p in config.pools.values() for m in p.members or ()}
    unknown = sorted(named - known)
    if unknown:
        raise ConfigError(f"PROVIDERS_FILE: unknown provider(s) {', '.join(unknown)}")
    bad_pools = sorted(set(config.pools) - {c.value for c in Capability})
    if bad_pools:
        raise ConfigError(f"PROVIDERS_FILE: unknown pool(s) {', '.join(bad_pools)}")


def alert_rules(settings: Settings) -> list[AlertRule]:
    """ALERT_WEBHOOK_URL (every alert) and the `alerts:` of PROVIDERS_FILE."""
    rules = []
    if settings.alert_webhook_url is not None:
        url = settings.alert_webhook_url.get_secret_value()
        rules.append(AlertRule(url, "ALERT_WEBHOOK_URL"))
    known = {cls.name for cls in adapters()}
    for i, rule in enumerate(settings.providers_config().alerts):
        source = f"PROVIDERS_FILE: alerts.{i}"
        unknown = sorted(set(rule.providers or ()) - known)
        if unknown:
            raise ConfigError(f"{source}.providers: unknown provider(s) {', '.join(unknown)}")
        rules.append(
            AlertRule(
                rule.webhook_url,
                source,
                frozenset(rule.providers) if rule.providers is not None else None,
                frozenset(rule.events) if rule.events is not None else None,
            )
        )
    return rules


def check_settings(settings: Settings) -> None:
    """Everything start-up would refuse, checked before a server binds its port."""
    prepare_data_dir(settings)
    check_known_providers(settings)
    check_backend(settings.sentiment_backend)
    check_rules(alert_rules(settings), allow_private=settings.webhook_allow_private)
