"""The verdict of `cryptoagg providers schema` on one provider's probe.

The adapter's own parser is the judge: `failed` when it could not read the payload,
`empty` when it read nothing from it. The payload's shape is then compared with the shape
recorded for the endpoint (`providers/shapes.json`): missing fields (those the parser needs
are `required`, or `used` when it reads them), new fields and changed types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptoagg.cli.checks import SKIPPED, ProbeResult
from cryptoagg.core.errors import BadResponse
from cryptoagg.providers.shapes import ShapeDiff, compare, decode, expected_shapes

#: parse verdicts that fail the command (with a missing required field)
FAILED = ("failed", "empty")


@dataclass(frozen=True, slots=True)
class EndpointShape:
    path: str
    fixture: str = ""
    diff: ShapeDiff | None = None
    note: str = ""


@dataclass(slots=True)
class SchemaReport:
    provider: str
    #: "ok", "failed", "empty", or why no payload was judged (an error kind, skipped, …)
    parse: str
    detail: str = ""
    endpoints: list[EndpointShape] = field(default_factory=list)

    @property
    def missing_required(self) -> list[str]:
        return [p for e in self.endpoints if e.diff for p in e.diff.missing_required]

    @property
    def failed(self) -> bool:
        return self.parse in FAILED or bool(self.missing_required)

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "parse": self.parse,
            "failed": self.failed,
            "detail": self.detail,
            "endpoints": [
                {
                    "path": e.path,
                    "fixture": e.fixture,
                    "note": e.note,
                    "missing": e.diff.missing if e.diff else [],
                    "missing_required": e.diff.missing_required if e.diff else [],
                    "missing_used": e.diff.missing_used if e.diff else [],
                    "new": e.diff.new if e.diff else [],
                    "changed": [
                        {"path": c.path, "expected": list(c.expected), "found": list(c.found)}
                        for c in (e.diff.changed if e.diff else [])
                    ],
                }
                for e in self.endpoints
            ],
        }


def _parse_verdict(probe: ProbeResult) -> tuple[str, str]:
    if isinstance(probe.error, BadResponse):
        return "failed", probe.detail
    # no payload to judge (unreachable, refused, not sent): `providers check` territory
    if probe.error is not None:
        return probe.error.reason, probe.detail
    if probe.recent is not None:
        return SKIPPED, probe.detail
    if probe.result != "ok":
        return probe.result, probe.detail
    if isinstance(probe.value, list) and not probe.value:
        return "empty", "the payload parsed, but yielded nothing"
    return "ok", probe.detail


def judge(probe: ProbeResult) -> SchemaReport:
    parse, detail = _parse_verdict(probe)
    report = SchemaReport(probe.provider, parse, detail)
    known = expected_shapes().get(probe.provider, {})
    for response in probe.responses:
        if not 200 <= response.status < 300:
            continue
        expected = known.get(response.path)
        if expected is None:
            report.endpoints.append(EndpointShape(response.path, note="no recorded shape"))
            continue
        try:
            payload = decode(response.body, expected.kind)
        except ValueError as exc:
            report.endpoints.append(EndpointShape(response.path, expected.fixture, note=str(exc)))
            continue
        diff = compare(expected, payload)
        report.endpoints.append(EndpointShape(response.path, expected.fixture, diff))
    return report
