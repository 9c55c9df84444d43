"""`POST /api/hf/run-sentiment`: sentiment of up to SENTIMENT_MAX_TEXTS texts."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cryptoagg.api.deps import ContainerDep

router = APIRouter(prefix="/api", tags=["sentiment"])


class SentimentRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["Bitcoin rallies as ETF inflows jump"]}]},
    )

    texts: list[str] = Field(description="texts to score, one label and score each")


class SentimentOut(BaseModel):
    label: Literal["positive", "negative", "neutral"]
    score: float = Field(description="-1 (most negative) to 1 (most positive)")
    model: str


class SentimentResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "vader-3.3.2",
                    "results": [{"label": "positive", "score": 0.4767, "model": "vader-3.3.2"}],
                }
            ]
        }
    )

    model: str
    results: list[SentimentOut]


@router.post(
    "/hf/run-sentiment",
    summary="Sentiment label and score of each text",
    responses={413: {"description": "more texts than SENTIMENT_MAX_TEXTS"}},
)
async def run_sentiment(body: SentimentRequest, container: ContainerDep) -> SentimentResponse:
    """Scores each text (label, score from -1 to 1, model). Limits: SENTIMENT_MAX_TEXTS texts
    (413 beyond), SENTIMENT_MAX_CHARS characters each (422 beyond)."""
    service = container.sentiment
    results = await service.analyze(body.texts)
    return SentimentResponse(
        model=service.backend.model,
        results=[SentimentOut(label=r.label, score=r.score, model=r.model) for r in results],
    )
