"""`/api/images/{asset_id}`: a coin's image from our own origin (`services/images.py`), and
`image_url`, the URL every answer that names a coin image gives instead of the provider's.

The route takes an asset id, never a URL. Its answer is the coin's own image (PNG, JPEG, GIF
or WebP, kept for IMAGE_MAX_AGE_S) or the generated icon (SVG, with `X-Image-Fallback`
saying why), both with an ETag (`If-None-Match` gets a 304).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.http.hot import etag_matches
from cryptoagg.core.images import EXTENSIONS, ICON_MEDIA_TYPE
from cryptoagg.core.models import TrendingCoin
from cryptoagg.services.images import ServedImage

router = APIRouter(prefix="/api", tags=["images"])

IMAGES_PATH = "/api/images/"
#: a CoinGecko-style asset id (lower case, digits, `-`, `.`, `_`, a space)
ASSET_ID_PATTERN = r"^[a-z0-9][a-z0-9 ._-]{0,127}$"
FALLBACK_HEADER = "X-Image-Fallback"

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_HEADERS = {
    "Cache-Control": {
        "description": "`public, max-age=604800` for the coin's own image; `public, "
        "max-age=300` for the icon, `no-cache` while the image is being fetched",
        "schema": {"type": "string"},
    },
    "ETag": {"schema": {"type": "string"}},
    FALLBACK_HEADER: {
        "description": "only on the icon: why it stands in (`unknown_asset`, `no_image`, "
        "`loading`, `images_off`, `provider_disabled`, or the provider's failure: "
        "`rate_limited`, `circuit_open`, …)",
        "schema": {"type": "string"},
    },
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the coin's image, or its generated icon (SVG)",
        "content": {media_type: _BINARY for media_type in [*EXTENSIONS, ICON_MEDIA_TYPE]},
        "headers": _HEADERS,
    },
    304: {"description": "`If-None-Match` names the image's ETag"},
    **error_responses(422),
}


def image_url(asset_id: str, base: str = "") -> str:
    """Where the image of `asset_id` is served: root-relative, or absolute under `base`."""
    return f"{base}{IMAGES_PATH}{quote(asset_id, safe='')}"


def trending_images(asset_id: str, base: str = "") -> dict[str, str]:
    """A trending coin's image fields (`thumb`, and `small` and `large` where the model has
    them), all this server's image of the coin."""
    url = image_url(asset_id, base)
    return {name: url for name in ("thumb", "small", "large") if name in TrendingCoin.model_fields}


@router.get(
    "/images/{asset_id}",
    summary="A coin's image from this server (fetched once, kept on disk) or a generated icon",
    response_class=Response,
    responses=RESPONSES,
)
async def coin_image(
    request: Request,
    services: ServicesDep,
    asset_id: Annotated[
        str,
        Path(
            description="the asset id (`/api/assets`, `/api/trending`), e.g. bitcoin",
            pattern=ASSET_ID_PATTERN,
        ),
    ],
) -> Response:
    """The image of a coin named by its asset id. The server learns each coin's image from
    its providers' answers (the trending coins, the markets listing), fetches it once from the
    provider's image host (counted in that provider's budget) and keeps it on disk
    (IMAGE_CACHE_MAX_BYTES). Without one (an unknown asset, none known yet, the provider
    failing or out of budget) the answer is a generated icon of the coin's ticker."""
    served = await services.images.image(asset_id)
    return _respond(request, served)


def _respond(request: Request, served: ServedImage) -> Response:
    image = served.image
    etag = '"' + hashlib.blake2b(image.data, digest_size=12).hexdigest() + '"'
    cache = f"public, max-age={served.max_age_s}" if served.max_age_s > 0 else "no-cache"
    headers = {"ETag": etag, "Cache-Control": cache}
    if served.fallback is not None:
        headers[FALLBACK_HEADER] = served.fallback
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(image.data, media_type=image.media_type, headers=headers)
