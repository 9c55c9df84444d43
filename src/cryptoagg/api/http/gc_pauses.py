"""CPython's cyclic garbage collector in a long-running server: start-up frozen, pauses measured.

A full (generation 2) collection stops the process while it walks every tracked container
object, and collections are triggered by allocations, so they tend to land on a fan-out. The
server holds ~140,000 such objects once started (modules, classes, FastAPI's routes and
pydantic schemas, SQLAlchemy, the registries) and ~200 more per WebSocket connection (the
ASGI stack's coroutines, closures, tasks and queues): a full collection with 1,000 clients
took ~125 ms on a quiet machine. None of the start-up objects ever becomes garbage, so after
`build()` they are moved to the permanent generation (`gc.freeze()`), which no collection
scans: the same collection takes ~58 ms (`bench/ws_fanout.py`; gc.freeze after loading the
application was suggested for long-running servers on bpo-31558, the issue that added it).
A young collection first frees start-up's young garbage; older garbage was freed by the full
collections the imports already triggered (10 objects were left).

The generation thresholds stay CPython's. Raising the third would make full collections
rarer but keep the cycles of closed connections for longer, and none ran while measuring
in steady state anyway; the connections' own objects are what a full collection still walks.

`GcPauses` is the `cryptoagg_gc_pause_seconds` histogram of `/metrics`, fed by
`gc.callbacks`: Python counts collections (`gc.get_stats`) but does not time them.
"""

from __future__ import annotations

import bisect
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client.metrics_core import HistogramMetricFamily, Metric

#: young collections take well under a millisecond; full ones 5 ms to a few hundred
PAUSE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
LE = (*(repr(bound) for bound in PAUSE_BUCKETS), "+Inf")
GENERATIONS = 3


class GcPauses:
    """Collection pauses by generation, recorded from `gc.callbacks` (a Prometheus collector).

    A collection never interrupts another, so one start time is enough; the callback runs
    inside every collection, so it only reads the clock and bumps integers.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._started = 0.0
        #: per generation: observations per bucket (not cumulative; the last is +Inf)
        self.buckets = [[0] * (len(PAUSE_BUCKETS) + 1) for _ in range(GENERATIONS)]
        self.sums = [0.0] * GENERATIONS

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self.clock()
            return
        seconds = self.clock() - self._started
        generation = info["generation"]
        self.buckets[generation][bisect.bisect_left(PAUSE_BUCKETS, seconds)] += 1
        self.sums[generation] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "cryptoagg_gc_pause_seconds",
            "Garbage-collector pauses by generation (2: full collections), while serving",
            labels=["generation"],
        )
        for generation in range(GENERATIONS):
            counts = list(self.buckets[generation])  # a collection may land mid-scrape
            cumulative = 0
            points = []
            for le, count in zip(LE, counts, strict=True):
                cumulative += count
                points.append((le, float(cumulative)))
            family.add_metric([str(generation)], points, self.sums[generation])
        yield family


@contextmanager
def start_up_frozen(pauses: GcPauses) -> Iterator[None]:
    """While serving: what start-up built is frozen, and `pauses` records every collection.

    On exit both are undone, so a process that starts apps again and again (the tests) does
    not keep every app it ever built; unfreezing while another app in the process still
    serves only makes its full collections slower again.
    """
    gc.collect(1)  # start-up's young garbage: freed, not frozen for good
    gc.freeze()
    gc.callbacks.append(pauses)
    try:
        yield
    finally:
        gc.callbacks.remove(pauses)
        gc.unfreeze()
