"""Which assets a news item is about: names, tickers, aliases and provider tags.

A headline names an asset by its name ("Bitcoin", "Bitcoin's"), a name alias ("Ether",
"Ripple"), its ticker as a word ("BTC", "$BTC", "(BTC)") or a provider's tag (CryptoPanic's
`currencies`). Matching is case-sensitive as names and tickers are written, longest first, so
"Bitcoin Cash" links `bitcoin-cash` and not also `bitcoin`, and "Wrapped Bitcoin" links only
`wrapped-bitcoin`.

Some tickers and names are ordinary words — "ONE", "GAS", "SUN", "NEAR", "OP", "LINK", "TON",
"Stellar", "Optimism", "Maker", "Render" — and headlines are often written in Title Case, so
capitalisation does not tell them apart ("Bitcoin Price Near $100K"). Those count only in
crypto context: a cashtag (`$LINK`), the ticker in parentheses (`(NEAR)`), a token word right
after it ("LINK price", "Stellar network", "NEAR Protocol"), or the asset named another way in
the same item ("Chainlink's LINK").

Only tracked assets are linked by name and ticker: the registry also holds thousands of listed
assets whose names and tickers are everyday words. Provider tags may link any asset the
registry resolves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptoagg.core.assets import ALIASES, Asset

#: names used in headlines for an asset besides its registered name (asset id -> names)
NAME_ALIASES: Mapping[str, tuple[str, ...]] = {
    "ethereum": ("Ether",),
    "ripple": ("Ripple",),
    "binancecoin": ("Binance Coin", "BNB Chain"),
    "avalanche-2": ("Avalanche",),
    "near": ("NEAR",),
    "the-open-network": ("TON",),
    "cosmos": ("Cosmos",),
    "crypto-com-chain": ("Cronos",),
    "fetch-ai": ("Fetch.ai",),
    "hedera-hashgraph": ("Hedera Hashgraph",),
    "shiba-inu": ("Shiba",),
}

#: tickers and names that are also ordinary words: linked only in crypto context
ORDINARY_WORDS: frozenset[str] = frozenset(
    {
        # tickers that are words or common abbreviations (Department of Transportation, an
        # APT hacking group, low Earth orbit)
        "ONE", "GAS", "SUN", "NEAR", "OP", "LINK", "TON", "DOT", "APT", "HYPE", "LEO", "DAI",
        # names that are words in Title Case headlines ("Stellar Growth", "Market Optimism")
        "Stellar", "Optimism", "Maker", "Render", "Stacks", "The Graph", "Mantle", "Immutable",
        "Cosmos", "Cosmos Hub", "Avalanche", "Dai",
    }
)  # fmt: skip

#: words after a name or ticker that make it about the asset ("LINK price", "NEAR Protocol")
CONTEXT_AFTER: frozenset[str] = frozenset(
    {
        "price", "prices", "token", "tokens", "coin", "coins", "network", "blockchain",
        "protocol", "ecosystem", "foundation", "labs", "etf", "etfs", "holders", "whales",
        "staking", "mainnet", "testnet", "chain", "rally", "rallies", "surges", "soars",
        "jumps", "climbs", "gains", "drops", "falls", "slides", "slips", "plunges", "tumbles",
        "dips", "sinks", "crashes", "futures", "treasury", "upgrade", "hard", "bulls", "bears",
        "developers", "validators", "dao", "defi", "wallet", "wallets", "market", "supply",
    }
)  # fmt: skip

_WORD = r"[A-Za-z0-9]"


@dataclass(frozen=True, slots=True)
class Link:
    """One asset an item is about, and how that was decided."""

    asset_id: str
    #: "tag" | "name" | "alias" | "ticker"
    matched_by: str
    #: the text that matched, as written in the item (or the provider's tag)
    text: str


@dataclass(frozen=True, slots=True)
class _Term:
    text: str
    asset_id: str
    matched_by: str
    ordinary: bool
    pattern: re.Pattern[str]


def _pattern(text: str, ticker: bool) -> re.Pattern[str]:
    body = re.escape(text).replace(r"\ ", r"\s+")
    cashtag = r"\$?" if ticker else ""
    # possessive and plural forms stay hits ("Bitcoin's", "ETFs" is not a name, "BTCs" is rare)
    return re.compile(rf"(?<!{_WORD}){cashtag}{body}(?!{_WORD})")


class NewsLinker:
    """Links items to the tracked assets of a registry snapshot (rebuilt when it changes)."""

    def __init__(
        self, assets: Iterable[Asset], tag_lookup: Callable[[str], str | None] | None = None
    ) -> None:
        """`tag_lookup`: a provider tag (a ticker) to an asset id, for tags of assets that are
        not tracked (the registry's resolution); tracked tickers are looked up here."""
        self._tag_lookup = tag_lookup
        terms: list[_Term] = []
        self._symbols: dict[str, str] = {}
        for asset in assets:
            if not asset.tracked:
                continue
            self._symbols.setdefault(asset.symbol.upper(), asset.id)
            names = [(asset.name, "name")]
            names += [(alias, "alias") for alias in NAME_ALIASES.get(asset.id, ())]
            for text, how in names:
                terms.append(self._term(text, asset.id, how, ticker=text.isupper()))
            if asset.symbol.upper() != asset.name:
                terms.append(self._term(asset.symbol.upper(), asset.id, "ticker", ticker=True))
        for alias, symbol in ALIASES.items():
            if symbol in self._symbols:
                terms.append(self._term(alias, self._symbols[symbol], "alias", ticker=True))
        # longest first: "Bitcoin Cash" before "Bitcoin", "Wrapped Bitcoin" before "Bitcoin"
        self._terms = sorted(terms, key=lambda t: (-len(t.text), t.text))

    @staticmethod
    def _term(text: str, asset_id: str, how: str, *, ticker: bool) -> _Term:
        return _Term(text, asset_id, how, text in ORDINARY_WORDS, _pattern(text, ticker))

    def links(self, title: str, summary: str | None = None, tags: Sequence[str] = ()) -> list[Link]:
        """The assets `title` (and `summary`) are about, tags first, each asset once."""
        found: dict[str, Link] = {}
        for tag in tags:
            asset_id = self._symbols.get(ALIASES.get(tag.upper(), tag.upper()))
            if asset_id is None and self._tag_lookup is not None:
                asset_id = self._tag_lookup(tag)
            if asset_id is not None:
                found.setdefault(asset_id, Link(asset_id, "tag", tag))
        text = title if not summary else f"{title}\n{summary}"
        taken: list[tuple[int, int]] = []
        pending: list[tuple[_Term, re.Match[str]]] = []
        for term in self._terms:
            for match in term.pattern.finditer(text):
                span = match.span()
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue  # inside a longer term already matched ("Bitcoin" of "Bitcoin Cash")
                taken.append(span)
                pending.append((term, match))
        # a plain hit names its asset; an ordinary word needs context, or its asset named
        # another way somewhere in the item
        plain = {term.asset_id for term, _ in pending if not term.ordinary}
        for term, match in sorted(pending, key=lambda tm: tm[1].start()):
            if term.ordinary and term.asset_id not in plain and not _in_context(text, match):
                continue
            found.setdefault(term.asset_id, Link(term.asset_id, term.matched_by, match.group()))
        return list(found.values())


def _in_context(text: str, match: re.Match[str]) -> bool:
    start, end = match.span()
    if match.group().startswith("$"):
        return True
    if text[start - 1 : start] == "(" and text[end : end + 1] == ")":
        return True
    after = re.match(r"(?:'s)?\s+([A-Za-z]+)", text[end:])
    return after is not None and after.group(1).lower() in CONTEXT_AFTER
