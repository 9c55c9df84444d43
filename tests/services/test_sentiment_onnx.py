"""The model backend on a tiny model the test builds (`tests/fixtures/sentiment/tiny_model.py`):
the same files, and the same loading code, as a real Hugging Face ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryptoagg.config import load_settings
from cryptoagg.core.errors import ConfigError
from cryptoagg.resilience.cpu import CpuLimiter
from cryptoagg.services.sentiment import SentimentService, make_backend
from cryptoagg.services.sentiment_onnx import OnnxBackend
from tests.fixtures.sentiment import tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model.build(tmp_path_factory.mktemp("tiny"))


def test_labels_scores_and_model_name(model_dir: Path) -> None:
    backend = make_backend("onnx", model_dir)
    results = backend.score(["Bitcoin rally today", "the market crash", "bitcoin", "unknown words"])
    assert [r.label for r in results] == ["positive", "negative", "neutral", "neutral"]
    # mean-pooled [CLS] bitcoin rally today [SEP]: logits (0.4, 0, 0.4): softmax p+ = p0
    assert results[0].score == 0.1235 and results[1].score == -0.1235
    assert results[2].score == 0.0
    assert {r.model for r in results} == {"onnx:tiny-test-model"}
    assert all(r.terms == () for r in results)  # a model gives no word weights


def test_texts_are_cut_to_max_tokens(model_dir: Path) -> None:
    text = "rally rally rally " + "crash " * 20
    whole = OnnxBackend(model_dir, max_tokens=128).score([text])[0]
    cut = OnnxBackend(model_dir, max_tokens=6).score([text])[0]  # [CLS] rally×3 crash [SEP]
    assert whole.label == "negative" and cut.label == "positive"


def test_batches_give_the_same_results_in_order(model_dir: Path) -> None:
    texts = ["rally", "crash crash", "bitcoin", "hack lawsuit plunges", "soars gains", "ether"]
    one_call = OnnxBackend(model_dir, batch=64).score(texts)
    in_pairs = OnnxBackend(model_dir, batch=2).score(texts)
    assert in_pairs == one_call
    assert [r.label for r in in_pairs] == [
        "positive",
        "negative",
        "neutral",
        "negative",
        "positive",
        "neutral",
    ]


async def test_scored_on_the_cpu_limiter_like_any_backend(model_dir: Path) -> None:
    limiter = CpuLimiter(1, queue=0)
    try:
        service = SentimentService(
            make_backend("transformers", model_dir), max_texts=4, max_chars=100, limiter=limiter
        )
        results = await service.analyze(["ether gains", "bitcoin hack"], client="1.2.3.4")
    finally:
        await limiter.aclose()
    assert [r.label for r in results] == ["positive", "negative"]
    assert limiter.completed == 1


def test_a_broken_model_directory_is_one_config_error(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        make_backend("onnx", tmp_path / "nowhere")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"has no model\.onnx, tokenizer\.json$"):
        make_backend("onnx", tmp_path)
    broken = tiny_model.build(tmp_path / "labels", id2label={"0": "LABEL_0", "1": "LABEL_1"})
    with pytest.raises(ConfigError, match="cannot read 'LABEL_0' as positive"):
        make_backend("onnx", broken)
    corrupt = tiny_model.build(tmp_path / "corrupt")
    (corrupt / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError) as refused:
        make_backend("onnx", corrupt)
    assert refused.value.message.startswith(f"SENTIMENT_MODEL: cannot load {corrupt}: ")
    assert "\n" not in refused.value.message


def test_settings_check_the_directory_before_anything_is_built(
    model_dir: Path, tmp_path: Path
) -> None:
    ok = load_settings(sentiment_backend="onnx", sentiment_model=str(model_dir))
    assert ok.sentiment_model == model_dir and ok.sentiment_max_tokens == 128
    with pytest.raises(ConfigError, match=r"SENTIMENT_MODEL: .*required with SENTIMENT_BACKEND"):
        load_settings(sentiment_backend="onnx")
    with pytest.raises(ConfigError, match=r"SENTIMENT_MODEL: .*no model\.onnx, tokenizer\.json"):
        load_settings(sentiment_backend="transformers", sentiment_model=str(tmp_path))
    bad = tiny_model.build(tmp_path / "bad")
    (bad / "config.json").write_text(json.dumps({"id2label": {"0": "happy", "1": "sad"}}))
    with pytest.raises(ConfigError, match=r"SENTIMENT_MODEL: .*cannot read 'happy'"):
        load_settings(sentiment_backend="onnx", sentiment_model=str(bad))
    # the lexicon backends never read it
    assert load_settings(sentiment_model=str(tmp_path)).sentiment_backend == "market"
