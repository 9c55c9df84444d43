"""HTTP plumbing shared by every provider adapter, and the one place where transport and
HTTP failures become cryptoagg errors.

An adapter subclasses `HttpProvider`, declares its `name`, `order`, `hosts`, `capabilities`,
`limits`, key needs and recorded `shapes`, and implements one async method per capability with
pure parse functions. It never retries, sleeps or caches: the resilience layer does.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx
import orjson
import pydantic
import structlog
from pydantic import SecretStr

from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import (
    AuthFailed,
    BadRequest,
    BadResponse,
    ConnectionFailed,
    GeoBlocked,
    NotSupported,
    ProviderError,
    RateLimited,
    Unavailable,
    UpstreamNotFound,
    UpstreamTimeout,
)
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Outbound, Provider
from cryptoagg.logging import redact_url
from cryptoagg.providers.shapes import Recording

log = structlog.get_logger("cryptoagg.providers")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ProviderContext:
    """Everything an adapter needs, injected by the composition root."""

    client: httpx.AsyncClient
    registry: AssetRegistry
    api_key: SecretStr | None = None
    upstream_base_url: str | None = None
    base_url_overrides: Mapping[str, str] = field(default_factory=dict)
    disabled_by_config: bool = False
    clock: Callable[[], datetime] = _utcnow
    #: charges every request as it leaves (the budgets); None only in adapter unit tests
    outbound: Outbound | None = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _conditional(headers: Mapping[str, str] | None) -> bool:
    return any(k.lower() in ("if-none-match", "if-modified-since") for k in headers or {})


def error_for_status(provider: str, response: httpx.Response, now: datetime) -> ProviderError:
    """Map a non-2xx response to the error tree."""
    status = response.status_code
    text = f"HTTP {status}"
    if status in (429, 418):
        retry = parse_retry_after(response.headers.get("retry-after"), now)
        return RateLimited(provider, text, retry_after_s=retry)
    if status == 451:
        return GeoBlocked(provider, f"{text}: service unavailable from this location")
    if status in (401, 403):
        return AuthFailed(provider, f"{text}: key missing, invalid or not allowed")
    if status == 404:
        return UpstreamNotFound(provider, text)
    if status in (400, 422):
        return BadRequest(provider, text)
    return Unavailable(provider, text)


class HttpProvider(Provider):
    """Base class of every adapter, and the one description of a provider: what the registry
    (`order`), the composition root (`limits`, keys, derived ids), the settings (its key
    variable), the health probe and the shape generator (`shapes`) need is a class attribute
    here. Capability methods default to `NotSupported` (the `Provider` protocol's bodies)."""

    name: ClassVar[str]
    #: where the provider sorts among the others (ascending); its default priority in the
    #: pools is its position in that order (PROVIDERS_FILE `priority` overrides it)
    order: ClassVar[int]
    #: host key -> real base URL (scheme and host only); "" is the main host
    hosts: ClassVar[Mapping[str, str]]
    capabilities: ClassVar[frozenset[Capability]]
    #: published (or, marked so in the comment beside it, guessed) call limits; PROVIDERS_FILE
    #: `rate_per_s`, `rate_per_min`, `monthly_quota` override them
    limits: ClassVar[Limits] = Limits()
    #: sends a key, read from `<NAME>_API_KEY` (`key_variable`); `requires_key`: it cannot
    #: work without one (disabled: missing key)
    uses_key: ClassVar[bool] = False
    requires_key: ClassVar[bool] = False
    docs_url: ClassVar[str] = ""
    #: spot prices cost one request per asset (no multi-asset call): collectors leave
    #: such a provider to client requests and collect from the batch providers
    per_asset_quotes: ClassVar[bool] = False
    #: names `health_probe` when the adapter has a cheaper health call than its capabilities
    #: (`services.probes.probe_for`); None: the first capability call in its probe order
    health_endpoint: ClassVar[str | None] = None
    #: the recorded payloads of the endpoints its health probe calls, from which
    #: `providers/shapes.json` is generated (`providers schema` compares live answers with it)
    shapes: ClassVar[tuple[Recording, ...]] = ()
    #: host keys that serve files (coin images): a request there carries no key and follows
    #: no redirect (a redirect is an error), so it can only ever reach that host
    file_hosts: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx
        #: upstream HTTP calls by outcome: "ok" or the error's reason (read by /metrics)
        self.outcomes: Counter[str] = Counter()

    # -- configuration -------------------------------------------------------------------

    @property
    def disabled_reason(self) -> str | None:
        if self.ctx.disabled_by_config:
            return "disabled by configuration"
        if self.requires_key and self.ctx.api_key is None:
            return "missing key"
        return None

    def base_url(self, host: str = "") -> str:
        if host in self.ctx.base_url_overrides:
            return self.ctx.base_url_overrides[host].rstrip("/")
        if self.ctx.upstream_base_url:
            suffix = f"/{host}" if host else ""
            return f"{self.ctx.upstream_base_url.rstrip('/')}/{self.name}{suffix}"
        return self.hosts[host]

    def key(self) -> str | None:
        return self.ctx.api_key.get_secret_value() if self.ctx.api_key else None

    def auth_headers(self) -> dict[str, str]:
        """Headers that carry the key; adapters with keys override this."""
        return {}

    @classmethod
    def key_variable(cls) -> str:
        """The environment variable (and `.env` entry) its key is read from."""
        return f"{cls.name.upper()}_API_KEY"

    # -- asset ids ---------------------------------------------------------------------------

    @classmethod
    def derived_id(cls, asset: Asset) -> str | None:
        """The provider's id of `asset` by a rule of its own (the ticker, another provider's
        id) where the asset registry records none; None: the seed and listings name its ids.
        An adapter whose ids follow a rule overrides this instead of adding a seed column."""
        return None

    @classmethod
    def native_id(cls, asset: Asset) -> str | None:
        """The provider's own id or base code of `asset`, None when it does not list it."""
        return asset.native_id(cls.name) or cls.derived_id(asset)

    @classmethod
    def native_ids(cls, assets: Sequence[Asset]) -> dict[str, Asset]:
        """Each asset's native id (`native_id`) -> the asset, skipping unlisted ones."""
        return {nid: a for a in assets if (nid := cls.native_id(a)) is not None}

    def supports(self, asset: Asset) -> bool:
        return self.native_id(asset) is not None

    def now(self) -> datetime:
        return self.ctx.clock()

    # -- transport -----------------------------------------------------------------------

    async def request(
        self,
        path: str,
        *,
        host: str = "",
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """GET `path`; `headers` go out with the key's (none to a file host). A 304 is an
        answer (no body) only to a conditional request (`If-None-Match` /
        `If-Modified-Since` in `headers`); any other 3xx is an error."""
        url = self.base_url(host) + path
        file_host = host in self.file_hosts
        keyed = {} if file_host else self.auth_headers()
        if self.ctx.outbound is not None:
            await self.ctx.outbound.before_send(self.name)
        started = time.perf_counter()
        # errors are raised outside the except blocks so that no httpx exception (whose
        # request URL may carry a key) stays attached as __context__
        failure: ProviderError | None = None
        try:
            response = await self.ctx.client.get(
                url,
                params=params,
                headers={**(headers or {}), **keyed},
                follow_redirects=False if file_host else httpx.USE_CLIENT_DEFAULT,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout):
            # no connection, so nothing reached the provider: its quota is not charged
            if self.ctx.outbound is not None:
                self.ctx.outbound.not_sent(self.name)
            failure = ConnectionFailed(self.name, "could not connect")
        except httpx.TimeoutException:
            failure = UpstreamTimeout(self.name, "timed out")
        except httpx.HTTPError as exc:
            failure = ConnectionFailed(self.name, type(exc).__name__)
        if failure is not None:
            self.outcomes[failure.reason] += 1
            raise failure
        log.debug(
            "upstream_call",
            provider=self.name,
            url=redact_url(str(response.request.url)),
            status=response.status_code,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        status = response.status_code
        if status >= 300 and not (status == 304 and _conditional(headers)):
            error = error_for_status(self.name, response, self.now())
            self.outcomes[error.reason] += 1
            raise error
        self.outcomes["ok"] += 1
        return response

    async def get_json(
        self,
        path: str,
        *,
        host: str = "",
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        response = await self.request(path, host=host, params=params)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise BadResponse(self.name, "body is not JSON") from None

    @contextmanager
    def parsing(self, what: str) -> Iterator[None]:
        """Turn any parse failure inside the block into `BadResponse`."""
        try:
            yield
        except ProviderError:
            raise
        except (pydantic.ValidationError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise BadResponse(
                self.name, f"unexpected {what} payload ({type(exc).__name__})"
            ) from None

    # -- health probe ------------------------------------------------------------------------

    async def health_probe(self) -> object:
        """The adapter's own cheapest call, named by `health_endpoint` (see there)."""
        raise NotSupported(self.name, "has no health probe of its own")
