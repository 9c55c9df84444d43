"""The symbol parameters the market, price, history, analysis and news routes share: one
ticker or asset id (`SYMBOL_PATTERN`) or a comma-separated list of them (`parse_symbols`)."""

from __future__ import annotations

from cryptoagg.core.errors import InvalidInput

SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_SYMBOLS = 50
#: `symbols=`: 1 to MAX_SYMBOLS tickers or asset ids (each as SYMBOL_PATTERN) separated by
#: commas, with a space before or after a comma allowed (within what `parse_symbols` reads)
SYMBOLS_PATTERN = f"^{SYMBOL_PATTERN[1:-1]}(?: ?, ?{SYMBOL_PATTERN[1:-1]}){{0,{MAX_SYMBOLS - 1}}}$"
SYMBOLS_DOC = (
    f"comma-separated tickers or asset ids (at most {MAX_SYMBOLS}; letters, digits, "
    "'-', '_' and '.', starting with a letter or digit)"
)


def parse_symbols(raw: str | None) -> list[str]:
    if not raw:
        return []
    symbols = [s.strip() for s in raw.split(",") if s.strip()]
    if len(symbols) > MAX_SYMBOLS:
        raise InvalidInput(f"at most {MAX_SYMBOLS} symbols per request")
    for symbol in symbols:
        if not symbol.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InvalidInput("symbols must be letters, digits, '-', '_' or '.'")
    return symbols
