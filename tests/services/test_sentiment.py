from __future__ import annotations

import pytest

from cryptoagg.core.errors import ConfigError, InvalidInput, PayloadTooLarge
from cryptoagg.services.sentiment import SentimentService, VaderBackend, make_backend


@pytest.fixture(scope="module")
def service() -> SentimentService:
    return SentimentService(VaderBackend(), max_texts=3, max_chars=40)


async def test_vader_labels_and_scores(service: SentimentService) -> None:
    results = await service.analyze(
        [
            "Great gains, investors are happy",
            "Exchange hacked, users lose funds",
            "The meeting is on Tuesday",
        ]
    )
    assert [r.label for r in results] == ["positive", "negative", "neutral"]
    assert results[0].score > 0.5 and results[1].score < -0.3 and results[2].score == 0.0
    assert {r.model for r in results} == {"vader-3.3.2"}


async def test_limits(service: SentimentService) -> None:
    with pytest.raises(PayloadTooLarge, match="at most 3"):
        await service.analyze(["a"] * 4)
    with pytest.raises(InvalidInput, match=r"texts\[1\]: at most 40 characters"):
        await service.analyze(["fine", "x" * 41])
    with pytest.raises(InvalidInput, match="at least one"):
        await service.analyze([])
    with pytest.raises(InvalidInput, match="empty"):
        await service.analyze(["  "])


def test_unknown_backends_are_refused() -> None:
    with pytest.raises(ConfigError, match="SENTIMENT_BACKEND"):
        make_backend("transformers")
