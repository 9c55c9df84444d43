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


def test_access_log_masks_keys_clients_put_in_the_query(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    access = logging.getLogger("uvicorn.access")
    # the call uvicorn makes for every request
    access.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/api/v3/simple/price?ids=bitcoin&vs_currencies=usd&x_cg_demo_api_key=CG-client-9",
        "1.1",
        200,
    )
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/health", "1.1", 200)
    events = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert events == [
        '127.0.0.1:5000 - "GET /api/v3/simple/price?ids=bitcoin&vs_currencies=usd'
        '&x_cg_demo_api_key=%2A%2A%2A HTTP/1.1" 200',
        '127.0.0.1:5000 - "GET /health HTTP/1.1" 200',
    ]
    configure_logging("WARNING", "console")
