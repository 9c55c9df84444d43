"""Generate `src/cryptoagg/providers/shapes.json` from the recorded payloads.

    .venv/bin/python -m tests.providers.shapes_gen        # rewrite the file
    .venv/bin/python -m tests.providers.shapes_gen --check  # exit 1 if it is out of date

The endpoints are the adapters' own (`HttpProvider.shapes`, one per provider: the call
`cryptoagg providers check` and `providers schema` make, the health check's probe), so a new
provider needs no edit here. Each is described by its recording, the keys that hold data rather
than field names (`maps`), and its adapter's own parse function; a field is `required` when the
parse fails or yields nothing once the field is deleted from the recording, `used` when the
parsed values change. Feeds are parsed from text, so their fields are compared but not
classified.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.registry import adapters
from cryptoagg.providers.shapes import ROOT, Recording, Sample, decode, shape_of
from tests.providers.support import FIXTURES, NOW

TARGET = Path(__file__).resolve().parents[2] / "src" / "cryptoagg" / "providers" / "shapes.json"
COMMAND = "python -m tests.providers.shapes_gen"

SAMPLE = Sample(seeded_registry(), NOW)


def without(value: object, target: str, maps: tuple[str, ...], path: str = ROOT) -> object:
    """`value` with the key at `target` deleted wherever it occurs."""
    if isinstance(value, Mapping):
        kept = {}
        for key, item in value.items():
            child = f"{path}.*" if path in maps else f"{path}.{key}"
            if child != target:
                kept[key] = without(item, target, maps, child)
        return kept
    if isinstance(value, list):
        return [without(item, target, maps, f"{path}[]") for item in value]
    return value


def _need(endpoint: Recording, payload: object, baseline: object, path: str) -> str | None:
    try:
        result = endpoint.parse(without(payload, path, endpoint.maps), SAMPLE)
    except Exception:
        return "required"
    if isinstance(result, list) and not result:
        return "required"
    return "used" if result != baseline else None


def describe(endpoint: Recording, fixtures: Path = FIXTURES) -> dict[str, Any]:
    body = (fixtures / endpoint.fixture).read_bytes()
    payload = decode(body, endpoint.kind)
    fields = shape_of(payload, endpoint.maps)
    needs: dict[str, list[str]] = {"required": [], "used": []}
    if endpoint.kind == "json":
        baseline = endpoint.parse(payload, SAMPLE)
        assert baseline, f"{endpoint.fixture}: the parse yields nothing"
        for path in sorted(fields):
            if path.endswith(("[]", ".*")) or path == ROOT:
                continue
            need = _need(endpoint, payload, baseline, path)
            if need is not None:
                needs[need].append(path)
    else:
        assert endpoint.parse(body.decode(), SAMPLE), (
            f"{endpoint.fixture}: the parse yields nothing"
        )
    return {
        "fixture": endpoint.fixture,
        "kind": endpoint.kind,
        "maps": list(endpoint.maps),
        "fields": {path: sorted(types) for path, types in sorted(fields.items())},
        **needs,
    }


def build(
    classes: Iterable[type[HttpProvider]] | None = None, fixtures: Path = FIXTURES
) -> dict[str, Any]:
    """The shapes of every adapter's recordings (`adapters()` unless `classes` are given)."""
    providers: dict[str, dict[str, Any]] = {}
    for cls in adapters() if classes is None else classes:
        for endpoint in cls.shapes:
            assert (fixtures / endpoint.fixture).is_file(), endpoint.fixture
            providers.setdefault(cls.name, {})[endpoint.path] = describe(endpoint, fixtures)
    return {"generated_by": COMMAND, "from": "tests/fixtures/providers", "providers": providers}


def render(shapes: Mapping[str, Any]) -> str:
    return json.dumps(shapes, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run {COMMAND}")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
