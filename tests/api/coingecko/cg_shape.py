"""Compare an answer of ours with a recorded CoinGecko payload: same keys, same JSON types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptoagg.providers.shapes import json_type

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "coingecko"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def shape_problems(
    ours: Any, theirs: Any, path: str = "$", maps: frozenset[str] = frozenset()
) -> list[str]:
    """Where `ours` differs from CoinGecko's `theirs`: an object must have the same keys in
    the same order (for the objects at `maps`, keyed by currency: a subset of them); every
    item of an array is compared with CoinGecko's first item, and an array of scalars (a
    chart point) position by position; JSON types must match wherever both sides have a
    value (null is where we, or they, have none)."""
    if ours is None or theirs is None:
        return []
    if json_type(ours) != json_type(theirs):
        return [f"{path}: {json_type(ours)} where CoinGecko has {json_type(theirs)}"]
    problems: list[str] = []
    if isinstance(theirs, dict):
        if path in maps:
            unknown = sorted(set(ours) - set(theirs))
            problems += [f"{path}: keys CoinGecko does not have: {unknown}"] if unknown else []
        elif list(ours) != list(theirs):
            problems.append(f"{path}: keys {list(ours)} where CoinGecko has {list(theirs)}")
        for key in [k for k in ours if k in theirs]:
            problems += shape_problems(ours[key], theirs[key], f"{path}.{key}", maps)
    elif isinstance(theirs, list) and theirs:
        if all(json_type(v) not in ("array", "object") for v in theirs):
            if len(ours) != len(theirs):
                return [f"{path}: {len(ours)} items where CoinGecko has {len(theirs)}"]
            for i, (mine, its) in enumerate(zip(ours, theirs, strict=True)):
                problems += shape_problems(mine, its, f"{path}[{i}]", maps)
        else:
            for item in ours:
                problems += shape_problems(item, theirs[0], f"{path}[]", maps)
    return problems


def unmock(body: Any) -> Any:
    """Mock mode marks `/api/v3` with a header, never in the body: CoinGecko's shapes stay."""
    if isinstance(body, dict):
        assert "_mock" not in body
    return body
