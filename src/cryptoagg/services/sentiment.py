"""Sentiment of short texts (headlines, posts): label, score, the model that said so and the
terms that moved the score.

The backend is chosen by SENTIMENT_BACKEND and loaded once, at start-up:

- `market` (default): the market lexicon and phrases of `core/sentiment` with VADER's general
  words (`sentiment_lexicon.py`); it reads "soars to record high" and "files for bankruptcy"
  the way a holder does, and names the terms behind each score;
- `vader`: VADER 3.3.2 alone, as before;
- `onnx` (alias `transformers`): a sequence-classification model from the local directory
  SENTIMENT_MODEL (`sentiment_onnx.py`, the optional `model` extra); nothing is downloaded.

Scoring is CPU work (VADER: pure Python, up to ~10 ms for 2,000 characters of lexicon words
without punctuation), so it goes through the shared CPU limiter (`resilience/cpu.py`): a
client's characters are charged to its budget first (429 when spent), then the texts are
scored in chunks of about CHUNK_CHARS characters on the limiter's worker (503 when its queue
is full), one slot held from the first chunk to the last.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from cryptoagg.core.errors import ConfigError, CpuBusy, InvalidInput, PayloadTooLarge
from cryptoagg.resilience.cpu import ClientCostBudget, CpuLimiter
from cryptoagg.services.sentiment_lexicon import MarketBackend, VaderBackend
from cryptoagg.services.sentiment_result import (
    VADER_NEGATIVE,
    VADER_POSITIVE,
    Label,
    SentimentBackend,
    SentimentResult,
    Term,
    label_of,
)

#: characters scored per worker call (VADER's worst case: ~40-80 ms); a longer text is a
#: chunk of its own. Chunks bound what a cancelled request still costs (the rest is not
#: scored) at ~2% of throughput; they do not shorten the loop's waits for the interpreter
#: lock, which CPython's switch interval (5 ms) already bounds (measured: loop lag p50 5.4 ms,
#: max 11-14 ms with one request or 16 chunks per maximum-size request alike)
CHUNK_CHARS = 8_000

#: SENTIMENT_BACKEND values; `transformers` (the name of earlier versions) means `onnx`
BACKENDS = ("market", "vader", "onnx", "transformers")
MODEL_BACKENDS = frozenset({"onnx", "transformers"})
#: what the model backend imports: the optional `model` extra
MODEL_EXTRA = ("onnxruntime", "tokenizers", "numpy")


def check_backend(name: str, model: Path | str | None = None) -> None:
    """What `make_backend` would refuse, without loading a model: an unknown name, the model
    extra not installed, and (when `model` is given) a model directory that is not one."""
    if name not in BACKENDS:
        raise ConfigError(f"SENTIMENT_BACKEND: {name!r} is not one of {', '.join(BACKENDS)}")
    if name not in MODEL_BACKENDS:
        return
    missing = [m for m in MODEL_EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"SENTIMENT_BACKEND={name} needs the model extra ({', '.join(missing)} missing): "
            "pip install 'cryptoagg[model]'"
        )
    if model is not None:
        # imported here: the module needs the optional extra, checked just above
        from cryptoagg.services.sentiment_onnx import ModelFiles  # noqa: PLC0415

        ModelFiles.read(Path(model))


def make_backend(
    name: str, model: Path | str | None = None, *, max_tokens: int = 128, batch: int = 32
) -> SentimentBackend:
    """The backend SENTIMENT_BACKEND names; `ConfigError` (one line) when it cannot be made."""
    check_backend(name, model)
    if name == "market":
        return MarketBackend()
    if name == "vader":
        return VaderBackend()
    if model is None:
        raise ConfigError(f"SENTIMENT_MODEL: required with SENTIMENT_BACKEND={name}")
    from cryptoagg.services.sentiment_onnx import OnnxBackend  # noqa: PLC0415 (optional extra)

    return OnnxBackend(Path(model), max_tokens=max_tokens, batch=batch)


class SentimentService:
    def __init__(
        self,
        backend: SentimentBackend,
        max_texts: int,
        max_chars: int,
        *,
        limiter: CpuLimiter,
        budget: ClientCostBudget | None = None,
    ) -> None:
        self.backend = backend
        self.max_texts = max_texts
        self.max_chars = max_chars
        self.limiter = limiter
        #: characters per client per minute (None: no per-client budget)
        self.budget = budget

    def check(self, texts: Sequence[str]) -> None:
        if not texts:
            raise InvalidInput("texts: give at least one text")
        if len(texts) > self.max_texts:
            raise PayloadTooLarge(
                f"texts: at most {self.max_texts} per request ({len(texts)} given)"
            )
        for index, text in enumerate(texts):
            if not text.strip():
                raise InvalidInput(f"texts[{index}]: empty text")
            if len(text) > self.max_chars:
                raise InvalidInput(
                    f"texts[{index}]: at most {self.max_chars} characters ({len(text)} given)"
                )

    async def analyze(
        self, texts: Sequence[str], client: str | None = None
    ) -> list[SentimentResult]:
        """Validate the limits, charge `client`'s budget with the characters (`CostExceeded`
        when spent; None: an internal caller, not charged), then score on the CPU limiter's
        worker (`CpuBusy` when its queue is full; the characters are given back)."""
        self.check(texts)
        cost = sum(len(text) for text in texts)
        if self.budget is not None and client is not None:
            self.budget.spend(client, cost)
        try:
            return await score_on(self.limiter, self.backend, texts)
        except CpuBusy:
            if self.budget is not None and client is not None:
                self.budget.refund(client, cost)
            raise


async def score_on(
    limiter: CpuLimiter,
    backend: SentimentBackend,
    texts: Sequence[str],
    *,
    refuse_when_full: bool = True,
) -> list[SentimentResult]:
    """`texts` scored on one of the limiter's workers, in chunks of about CHUNK_CHARS
    characters, the slot held from the first chunk to the last (`CpuBusy` when the queue is
    full, unless `refuse_when_full` is false: then it waits its turn)."""
    results: list[SentimentResult] = []
    async with limiter.slot(refuse_when_full=refuse_when_full) as slot:
        for chunk in chunked(texts, CHUNK_CHARS):
            results.extend(await slot.run(backend.score, chunk))
    return results


def chunked(texts: Sequence[str], chars: int) -> list[list[str]]:
    """Consecutive texts grouped into lists of about `chars` characters (at least one text
    each), in order."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for text in texts:
        if current and size + len(text) > chars:
            chunks.append(current)
            current, size = [], 0
        current.append(text)
        size += len(text)
    if current:
        chunks.append(current)
    return chunks


__all__ = [
    "BACKENDS",
    "CHUNK_CHARS",
    "VADER_NEGATIVE",
    "VADER_POSITIVE",
    "Label",
    "MarketBackend",
    "SentimentBackend",
    "SentimentResult",
    "SentimentService",
    "Term",
    "VaderBackend",
    "check_backend",
    "chunked",
    "label_of",
    "make_backend",
    "score_on",
]
