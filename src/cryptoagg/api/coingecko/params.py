"""Query parameters several `/api/v3` endpoints share, declared once for FastAPI and the
OpenAPI document, and their checks that answer in CoinGecko's words.

`vs_currency`: only usd is served (any case, blanks around ignored); another currency gets
CoinGecko's own 400 `invalid vs_currency`, a missing one its 422 `Missing parameter`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response

from cryptoagg.api.coingecko import shapes as cg
from cryptoagg.api.coingecko.errors import cg_error
from cryptoagg.api.openapi import WHITESPACE

#: ids (or names, or symbols) per request
MAX_IDS = 250
#: `vs_currency`: usd, any case, blanks around ignored
USD_PATTERN = f"^[{WHITESPACE}]*[Uu][Ss][Dd][{WHITESPACE}]*$"
USD_ONLY = {"pattern": USD_PATTERN}
#: at most MAX_IDS items in a comma list
MAX_IDS_PATTERN = f"^[^,]*(?:,[^,]*){{0,{MAX_IDS - 1}}}$"
PRECISION_DOC = (
    "full, or 0 to 18 decimal places for the amounts in USD (prices, market caps, volumes, "
    "USD changes); per cent changes are not rounded"
)
Precision = Annotated[
    str | None, Query(description=PRECISION_DOC, json_schema_extra={"enum": list(cg.PRECISIONS)})
]
UsdCurrency = Annotated[
    str | None, Query(description="usd (the only one served)", json_schema_extra=USD_ONLY)
]


def coin_list(max_length: int, description: str) -> Any:
    """A comma list of at most MAX_IDS CoinGecko ids, coin names or tickers."""
    return Query(
        max_length=max_length,
        description=description,
        json_schema_extra={"pattern": MAX_IDS_PATTERN},
    )


def usd_only(vs_currency: str | None) -> Response | None:
    """CoinGecko's answer to a missing or unsupported `vs_currency`, or None for usd."""
    if not vs_currency:
        return cg_error(422, "Missing parameter vs_currency")
    if vs_currency.strip().lower() != cg.CURRENCY:
        return cg_error(400, "invalid vs_currency")
    return None
