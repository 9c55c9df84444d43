"""`SENTIMENT_BACKEND=onnx`: a sequence-classification model on local files, no download.

The model directory (SENTIMENT_MODEL) holds what a Hugging Face export writes: `model.onnx`,
`tokenizer.json` (the `tokenizers` format) and `config.json` (its `id2label` names the
classes). ONNX Runtime and `tokenizers` are small CPU wheels, an optional extra
(`pip install cryptoagg[model]`); PyTorch is not needed. Texts are cut to `max_tokens` tokens
and scored `batch` at a time; the session uses one intra-op thread, so the CPU limiter's
workers (`resilience/cpu.py`, CPU_WORKERS) are what bounds the cores it takes.

The score is p(positive) - p(negative) (-1..1); the label the most probable class. A model
gives no word weights, so its results carry no terms.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from cryptoagg.core.errors import ConfigError
from cryptoagg.core.sentiment.labels import Label, label_map
from cryptoagg.services.sentiment_result import SentimentResult

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
#: the inputs a BERT-like export may take; each is fed only when the graph asks for it
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True, slots=True)
class ModelFiles:
    directory: Path
    labels: dict[int, Label]
    #: what the export calls itself (config.json `_name_or_path`), else the directory's name
    name: str
    pad_id: int

    @classmethod
    def read(cls, directory: Path) -> ModelFiles:
        """The directory's files, checked; `ConfigError` naming SENTIMENT_MODEL otherwise."""
        if not directory.is_dir():
            raise ConfigError(f"SENTIMENT_MODEL: {directory} is not a directory")
        missing = [
            f for f in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE) if not (directory / f).is_file()
        ]
        if missing:
            raise ConfigError(f"SENTIMENT_MODEL: {directory} has no {', '.join(missing)}")
        try:
            config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
            labels = label_map(config.get("id2label") if isinstance(config, dict) else None)
        except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise ConfigError(f"SENTIMENT_MODEL: {_first_line(exc)}") from None
        name = str(config.get("_name_or_path") or directory.name)
        pad_id = config.get("pad_token_id")
        return cls(directory, labels, name, pad_id if isinstance(pad_id, int) else 0)


class OnnxBackend:
    """Scores texts with the model in `directory` (see the module docstring)."""

    def __init__(self, directory: Path, *, max_tokens: int = 128, batch: int = 32) -> None:
        files = ModelFiles.read(directory)
        self.labels = files.labels
        self.model = f"onnx:{files.name}"
        self.batch = batch
        try:
            self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # the libraries raise their own types for unreadable files
            raise ConfigError(
                f"SENTIMENT_MODEL: cannot load {directory}: {_first_line(exc)}"
            ) from None
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=files.pad_id)
        self._inputs = [i.name for i in self._session.get_inputs()]
        unknown = sorted(set(self._inputs) - set(_INPUTS))
        if unknown:
            raise ConfigError(f"SENTIMENT_MODEL: model.onnx asks for unknown inputs {unknown}")

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        results: list[SentimentResult] = []
        for start in range(0, len(texts), self.batch):
            results += self._score_batch(texts[start : start + self.batch])
        return results

    def _score_batch(self, texts: Sequence[str]) -> list[SentimentResult]:
        encodings = self._tokenizer.encode_batch(list(texts))
        feeds: dict[str, Any] = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (logits,) = self._session.run(None, {name: feeds[name] for name in self._inputs})[:1]
        probabilities = _softmax(np.asarray(logits, dtype=np.float64))
        results = []
        for row in probabilities:
            by_label = {label: 0.0 for label in ("positive", "negative", "neutral")}
            for index, label in self.labels.items():
                by_label[label] += float(row[index])
            best = self.labels[int(np.argmax(row))]
            score = round(by_label["positive"] - by_label["negative"], 4)
            results.append(SentimentResult(best, score, self.model))
        return results


def _softmax(
    logits: np.ndarray[Any, np.dtype[np.float64]],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: np.ndarray[Any, np.dtype[np.float64]] = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def _first_line(exc: BaseException) -> str:
    """An exception's message on one line (start-up errors are one line, no traceback)."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
