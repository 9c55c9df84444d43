"""`POST /api/hf/run-sentiment`: sentiment of up to SENTIMENT_MAX_TEXTS texts.

Scoring is CPU work, bounded in `services/sentiment.py`: a client over its character budget
gets 429, and when the CPU worker's queue is full 503, both with `Retry-After`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.http.asgi import NO_PROXIES, TrustedProxies, client_address
from cryptoagg.api.http.ratelimit import client_key
from cryptoagg.api.openapi import NOT_BLANK
from cryptoagg.services.sentiment_result import Term

router = APIRouter(prefix="/api", tags=["sentiment"])


class SentimentRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["Bitcoin rallies as ETF inflows jump"]}]},
    )

    # declared here, checked by the service (its messages name the text); the document's
    # maxItems and maxLength come from SENTIMENT_MAX_TEXTS and SENTIMENT_MAX_CHARS
    texts: list[Annotated[str, Field(json_schema_extra={"pattern": NOT_BLANK})]] = Field(
        description="texts to score, one label and score each; none may be blank",
        json_schema_extra={"minItems": 1},
    )


class TermOut(BaseModel):
    text: str = Field(description="the word or phrase (as written; lower-cased from the layer)")
    weight: float = Field(
        description="`lexicon`: what it added to the lexicon's sum (+ or -); `layer`: its push "
        "toward the chosen label, in log-odds"
    )
    by: Literal["lexicon", "layer"] = Field(
        description="the market lexicon, or the learned layer that decides the label"
    )

    @classmethod
    def of(cls, term: Term) -> TermOut:
        return cls(text=term.text, weight=term.weight, by=term.by)


class SentimentOut(BaseModel):
    label: Literal["positive", "negative", "neutral"]
    score: float = Field(description="-1 (most negative) to 1 (most positive)")
    model: str
    terms: list[TermOut] = Field(
        description="the words and phrases that moved the score, strongest first; empty for "
        "a model backend (SENTIMENT_BACKEND=onnx), which gives no word weights"
    )


class SentimentResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "market-lexicon-1+market-layer-1",
                    "results": [
                        {
                            "label": "positive",
                            "score": 0.8302,
                            "model": "market-lexicon-1+market-layer-1",
                            "terms": [
                                {"text": "rallies", "weight": 2.386, "by": "lexicon"},
                                {"text": "inflows", "weight": 1.737, "by": "lexicon"},
                                {"text": "rallies", "weight": 0.412, "by": "layer"},
                            ],
                        }
                    ],
                }
            ]
        }
    )

    model: str
    results: list[SentimentOut]


@router.post(
    "/hf/run-sentiment",
    summary="Sentiment label and score of each text",
    responses=error_responses(
        413,
        422,
        429,
        503,
        s413="more texts than SENTIMENT_MAX_TEXTS, or a body over MAX_BODY_BYTES",
        s422="invalid input: no texts, a blank text or one over SENTIMENT_MAX_CHARS characters",
        s429="over the request rate limit, or over this client's character budget "
        "(SENTIMENT_CLIENT_CHARS_PER_MIN); see Retry-After",
        s503="the CPU worker and its queue (CPU_QUEUE) are taken; see Retry-After",
        examples={
            503: {
                "code": "busy",
                "message": "busy: 1 CPU worker(s) and a queue of 8 are taken; try again later",
                "details": {"retry_after_s": 1},
            }
        },
    ),
)
async def run_sentiment(
    body: SentimentRequest, services: ServicesDep, request: Request
) -> SentimentResponse:
    """Scores each text (label, score from -1 to 1, model, the terms that moved it). Limits:
    SENTIMENT_MAX_TEXTS texts (413 beyond), SENTIMENT_MAX_CHARS characters each (422 beyond),
    SENTIMENT_CLIENT_CHARS_PER_MIN characters per client (429 beyond, with Retry-After);
    503 with Retry-After while the CPU worker and its queue (CPU_QUEUE) are taken."""
    service = services.sentiment
    results = await service.analyze(body.texts, client=_client(request))
    return SentimentResponse(
        model=service.backend.model,
        results=[
            SentimentOut(
                label=r.label,
                score=r.score,
                model=r.model,
                terms=[TermOut.of(t) for t in r.terms],
            )
            for r in results
        ],
    )


def _client(request: Request) -> str:
    """The key the client's budget is kept under: its address as the rate limit sees it
    (TRUSTED_PROXIES, built once by `install_security`)."""
    proxies: TrustedProxies = getattr(request.app.state, "trusted_proxies", NO_PROXIES)
    return client_key(client_address(request.scope, proxies))
