"""Start-up frozen while serving, and collection pauses as a histogram on `/metrics`."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from cryptoagg.api.http.gc_pauses import GcPauses, start_up_frozen
from tests.api.http.test_metrics import scrape, served, value

PAUSE = "cryptoagg_gc_pause_seconds"


class Node:
    """A tracked container object that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def _nothing_frozen() -> Iterator[None]:
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()  # whatever a failed test left


def ticks(*values: float) -> Iterator[float]:
    yield from values


def test_a_collection_is_timed_into_its_generation_bucket() -> None:
    clock = ticks(10.0, 10.03, 20.0, 20.0004)
    pauses = GcPauses(clock=lambda: next(clock))
    pauses("start", {"generation": 2})
    pauses("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    pauses("start", {"generation": 0})
    pauses("stop", {"generation": 0, "collected": 0, "uncollectable": 0})
    registry = CollectorRegistry()
    registry.register(pauses)
    samples = {
        (s.name, s.labels.get("generation"), s.labels.get("le")): s.value
        for family in text_string_to_metric_families(_exposition(registry))
        for s in family.samples
    }
    assert samples[(f"{PAUSE}_bucket", "2", "0.025")] == 0
    assert samples[(f"{PAUSE}_bucket", "2", "0.05")] == 1
    assert samples[(f"{PAUSE}_bucket", "2", "+Inf")] == 1
    assert samples[(f"{PAUSE}_count", "2", None)] == 1
    assert samples[(f"{PAUSE}_sum", "2", None)] == pytest.approx(0.03)
    assert samples[(f"{PAUSE}_bucket", "0", "0.001")] == 1
    assert samples[(f"{PAUSE}_count", "1", None)] == 0


def _exposition(registry: CollectorRegistry) -> str:
    from prometheus_client import generate_latest  # noqa: PLC0415

    return generate_latest(registry).decode()


def test_while_serving_start_up_is_frozen_and_collections_are_recorded() -> None:
    pauses = GcPauses()
    built_at_start_up = Node()
    with start_up_frozen(pauses):
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(built_at_start_up)
        assert not any(o is built_at_start_up for o in gc.get_objects(generation=2))
        cycle = Node()
        cycle.other = Node()
        cycle.other.other = cycle
        del cycle
        gc.collect()
        assert sum(pauses.buckets[2]) == 1
        assert pauses.sums[2] > 0
    # undone on exit: nothing frozen, the callback gone
    assert gc.get_freeze_count() == 0
    assert any(o is built_at_start_up for o in gc.get_objects(generation=2))
    assert pauses not in gc.callbacks
    gc.collect()
    assert sum(pauses.buckets[2]) == 1


def test_start_up_garbage_is_collected_not_frozen() -> None:
    gc.disable()  # no automatic collection: only `start_up_frozen` may free the cycle
    try:
        cycle = Node()
        cycle.other = cycle
        freed = weakref.ref(cycle)
        del cycle
        assert freed() is not None
        with start_up_frozen(GcPauses()):
            assert freed() is None
    finally:
        gc.enable()


async def test_metrics_export_the_pauses_of_the_serving_app(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, app):
        assert gc.get_freeze_count() > 0
        before = await scrape(client)
        gc.collect()
        after = await scrape(client)
    assert gc.get_freeze_count() == 0
    count = f"{PAUSE}_count"
    assert value(after, count, generation="2") == value(before, count, generation="2") + 1
    assert value(after, f"{PAUSE}_sum", generation="2") > value(
        before, f"{PAUSE}_sum", generation="2"
    )
    assert app.state.gc_pauses not in gc.callbacks
