from __future__ import annotations

import json
import logging
from itertools import pairwise

import pytest
import structlog

from cryptoagg.logging import (
    SecretScrubber,
    configure_logging,
    is_secret_header,
    redact_url,
    secret_forms,
)


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


# --- the scrubber: one processor before either renderer ----------------------------------------

ADMIN = "admin-token-unit-4b6d8f"
PROVIDER_KEY = "cg-key-unit-9e7c5a"
DB_URL = "postgresql://agg:p%40ss-unit-31@db.internal:5432/agg"
WEBHOOK = "https://hooks.example.com/services/T01/B02/hook-unit-5a7c9e"
CONFIGURED = [ADMIN, PROVIDER_KEY, DB_URL, WEBHOOK]


@pytest.fixture
def scrubber() -> SecretScrubber:
    return SecretScrubber(CONFIGURED)


pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("authorization", True),
        ("AUTHORIZATION", True),
        (b"authorization", True),
        ("Proxy-Authorization", True),
        ("Cookie", True),
        ("cookie", True),
        ("Set-Cookie", True),
        ("SET-COOKIE", True),
        ("X-Api-Key", True),
        ("x-api-key", True),
        ("X_API_KEY", True),
        (b"x-api-key", True),
        ("x-cg-demo-api-key", True),
        ("X-CG-Pro-Api-Key", True),
        ("x_cg_demo_api_key", True),  # the query-parameter spelling
        ("x-cg-anything-api-key", True),
        ("x-messari-api-key", True),
        ("apiKey", True),
        ("token", True),
        ("access_token", True),
        ("admin_token", True),
        ("host", False),
        ("content-type", False),
        ("accept", False),
        ("x-request-id", False),
        ("retry-after", False),
        ("key", False),  # log fields name cache keys so
        ("monkey", False),
    ],
)
def test_secret_header_names(name: str | bytes, secret: bool) -> None:
    assert is_secret_header(name) is secret


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Authorization": f"Bearer {ADMIN}"}, {"Authorization": "***"}),
        (
            {"headers": {"X-Api-Key": "client-1", "Accept": "application/json"}},
            {"headers": {"X-Api-Key": "***", "Accept": "application/json"}},
        ),
        # ASGI scope headers: a list of (name, value) byte pairs
        (
            {"scope": {"type": "http", "headers": [(b"host", b"x"), (b"cookie", b"sid=1")]}},
            {"scope": {"type": "http", "headers": [(b"host", b"x"), (b"cookie", "***")]}},
        ),
        (
            [("X-CG-Demo-Api-Key", "CG-1"), ("host", "h")],
            [("X-CG-Demo-Api-Key", "***"), ("host", "h")],
        ),
        ([[["deep", {"set-cookie": "a=b"}]]], [[["deep", {"set-cookie": "***"}]]]),
        ([["Authorization", "Basic dTpw"]], [["Authorization", "***"]]),  # pairs as lists too
        ({"note": f"token {ADMIN} in text"}, {"note": "token *** in text"}),
        ((PROVIDER_KEY, 3), ("***", 3)),
        ({"raw": PROVIDER_KEY.encode()}, {"raw": b"***"}),
        (
            {"n": 3, "ratio": 0.5, "ok": True, "none": None},
            {"n": 3, "ratio": 0.5, "ok": True, "none": None},
        ),
        ({(1, 2): "tuple key"}, {"(1, 2)": "tuple key"}),
        # any other object: its repr, scrubbed
        (ValueError(f"bad key {PROVIDER_KEY}"), "ValueError('bad key ***')"),
        ({"error": KeyError(ADMIN)}, {"error": "KeyError('***')"}),
    ],
)
def test_scrub_nested_structures(scrubber: SecretScrubber, value: object, expected: object) -> None:
    assert scrubber.scrub(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # configured values, wherever they are, and their URL-encoded and derived forms
        (f"key={PROVIDER_KEY}", "key=***"),
        (f"prefix{ADMIN}suffix", "prefix***suffix"),
        (f"could not connect to {DB_URL}", "could not connect to ***"),
        ("password p@ss-unit-31 refused", "password *** refused"),  # the decoded password
        ("user agg, p%40ss-unit-31", "user agg, ***"),
        (f"POST {WEBHOOK} failed", "POST *** failed"),
        (f"hook {WEBHOOK.replace(':', '%3A').replace('/', '%2F')}", "hook ***"),
        # header lines, and header pairs in the reprs of dicts and tuples (any case)
        ("Authorization: Bearer client-abc\nHost: x", "Authorization: ***\nHost: x"),
        ("cookie: a=1; b=2", "cookie: ***"),
        ("{'authorization': 'Bearer zz', 'host': 'x'}", "{'authorization': '***', 'host': 'x'}"),
        ('{"X-Api-Key": "k-1", "a": 1}', '{"X-Api-Key": "***", "a": 1}'),
        ("[(b'cookie', b'sid=1'), (b'host', b'h')]", "[(b'cookie', b'***'), (b'host', b'h')]"),
        ("(b'x-cg-pro-api-key', b'CG-9')", "(b'x-cg-pro-api-key', b'***')"),
        ("authorization=Bearer abc other=1", "authorization=*** other=1"),
        # credential-like URL parameters and URL passwords nobody configured
        (
            "GET /x?ids=btc&x_cg_demo_api_key=CG-c1 HTTP/1.1",
            "GET /x?ids=btc&x_cg_demo_api_key=*** HTTP/1.1",
        ),
        ("https://a.io/p?apiKey=k1&public=true", "https://a.io/p?apiKey=***&public=true"),
        ("redis://:hunter22@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql+psycopg://u:pw99@h/db", "postgresql+psycopg://u:***@h/db"),
        # left alone: already masked, empty, or not a credential
        ("?auth_token=%2A%2A%2A&x=1", "?auth_token=%2A%2A%2A&x=1"),
        ('headers.get("authorization", "")', 'headers.get("authorization", "")'),
        ("Missing Authorization header", "Missing Authorization header"),
        ("401 Unauthorized", "401 Unauthorized"),
        ("cache key=prices:btc", "cache key=prices:btc"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
    ],
)
def test_scrub_text(scrubber: SecretScrubber, text: str, expected: str) -> None:
    assert scrubber.scrub_text(text) == expected


def test_secret_forms() -> None:
    forms = secret_forms(["abc", "s3cret/with space", DB_URL])
    assert "abc" not in forms  # too short to mask without garbling the logs
    assert {"s3cret/with space", "s3cret%2Fwith%20space", "s3cret%2Fwith+space"} <= set(forms)
    assert {DB_URL, "p%40ss-unit-31", "p@ss-unit-31"} <= set(forms)
    assert all(len(a) >= len(b) for a, b in pairwise(forms))  # a longer one masked whole


def _fail_with_secrets_at_hand() -> None:
    request_headers = {
        "authorization": f"Bearer {ADMIN}",
        "x-api-key": "client-key-local",
        "cookie": "sid=cookie-local-value",
    }
    sent = request_headers["x-api-key"]
    raise RuntimeError(f"upstream refused {PROVIDER_KEY}; sent Authorization: Bearer {sent}")


FORBIDDEN = [ADMIN, PROVIDER_KEY, "client-key-local", "cookie-local-value"]


def _logged(capsys: pytest.CaptureFixture[str], fmt: str) -> tuple[str, str]:
    """What the structlog record and a standard-library record (uvicorn's way) of one
    exception look like: (whole output, the exception text of the structlog record)."""
    configure_logging("INFO", fmt, CONFIGURED)
    try:
        _fail_with_secrets_at_hand()
    except RuntimeError:
        structlog.get_logger("t").exception("unhandled_error", detail={"Cookie": "sid=1"})
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=True)
    err = capsys.readouterr().err
    if fmt == "json":
        records = [json.loads(line) for line in err.splitlines()]
        assert [r["event"] for r in records] == [
            "unhandled_error",
            "Exception in ASGI application\n",
        ]
        assert records[0]["detail"] == {"Cookie": "***"}
        assert records[1]["exception"] == records[0]["exception"]
        return err, records[0]["exception"]
    first = err.split("Exception in ASGI application")[0].rsplit("\n", 1)[0]
    assert "detail={'Cookie': '***'}" in first
    return err, first[first.index("Traceback") :]


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_tracebacks_are_kept_scrubbed_and_without_locals(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    err, traceback = _logged(capsys, fmt)
    assert traceback.startswith("Traceback (most recent call last):")
    assert "in _fail_with_secrets_at_hand" in traceback
    assert traceback.rstrip().endswith(
        "RuntimeError: upstream refused ***; sent Authorization: ***"
    )
    assert err.count("Traceback (most recent call last):") == 2  # both records
    for secret in FORBIDDEN:
        assert secret not in err
    # no dump of local variables (Rich's panels, `name = value` lines of the locals)
    assert "locals" not in err
    assert "│" not in err
    assert "request_headers" not in err  # the local's name (the raise line does not hold it)


def test_json_keeps_plain_values_typed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json", CONFIGURED)
    structlog.get_logger("t").info("counted", rows=3, ratio=0.5, ok=True, missing=None)
    record = json.loads(capsys.readouterr().err)
    assert (record["rows"], record["ratio"], record["ok"], record["missing"]) == (
        3,
        0.5,
        True,
        None,
    )
