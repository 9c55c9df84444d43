"""The model backend in a real server: `cryptoagg serve` with SENTIMENT_BACKEND=onnx loads the
tiny model the test builds (the files of a Hugging Face ONNX export) from SENTIMENT_MODEL and
answers `POST /api/hf/run-sentiment` with it; a model directory that is not one stops
start-up with one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import server, server_env, spawn
from tests.fixtures.sentiment import tiny_model

pytestmark = pytest.mark.e2e

#: nothing listens there: no outbound call
OFFLINE = {"UPSTREAM_BASE_URL": "http://127.0.0.1:9"}


def test_the_model_answers_run_sentiment(tmp_path: Path) -> None:
    model = tiny_model.build(tmp_path / "model")
    env = {**OFFLINE, "SENTIMENT_BACKEND": "onnx", "SENTIMENT_MODEL": str(model)}
    with server(tmp_path / "data", env) as base:
        response = httpx.post(
            f"{base}/api/hf/run-sentiment",
            json={"texts": ["Bitcoin rally today", "Exchange hack", "the market"]},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "onnx:tiny-test-model"
    assert [(r["label"], r["score"], r["terms"]) for r in body["results"]] == [
        ("positive", 0.1235, []),
        ("negative", -0.1581, []),  # softmax(0, 0.5, 0.375): 0.2437 - 0.4018
        ("neutral", 0.0, []),
    ]


def test_a_directory_that_is_not_a_model_stops_start_up_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    env = server_env(
        tmp_path / "data",
        9,  # never bound: start-up stops first
        {**OFFLINE, "SENTIMENT_BACKEND": "onnx", "SENTIMENT_MODEL": str(tmp_path / "empty")},
    )
    proc, log = spawn(["serve"], env)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    output = log.read_text().strip()
    log.unlink()
    assert code == 2
    assert output.splitlines()[0].startswith("error: invalid configuration: SENTIMENT_MODEL: ")
    assert "is not a model directory (no model.onnx, tokenizer.json, config.json)" in output
    assert "Traceback" not in output
