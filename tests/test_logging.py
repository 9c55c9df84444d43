from __future__ import annotations

import json
import logging

import pytest
import structlog

from cryptoagg.logging import configure_logging, redact_url


def test_redact_url_masks_credentials() -> None:
    url = "https://u:pw@cryptopanic.com/api/v1/posts/?auth_token=abc123&public=true&apiKey=k9"
    assert redact_url(url) == (
        "https://cryptopanic.com/api/v1/posts/?auth_token=%2A%2A%2A&public=true&apiKey=%2A%2A%2A"
    )


def test_json_logs_mask_secrets_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", "json", secrets=["sekret-key-123"])
    structlog.get_logger("t").info("event_one", detail="key=sekret-key-123")
    logging.getLogger("uvicorn.error").warning("stdlib line with sekret-key-123")
    logging.getLogger("httpx").info("HTTP Request: GET https://x/?auth_token=sekret-key-123")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["event_one", "stdlib line with ***"]
    assert lines[0]["detail"] == "key=***"
    assert all("sekret" not in json.dumps(line) for line in lines)
    configure_logging("WARNING", "console")
