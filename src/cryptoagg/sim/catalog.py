"""The simulated providers, found rather than listed: a module of this package that declares a
module-level `SIMULATED` tuple of `SimProvider`s adds them (their name, routes and fault
bodies). `create_sim_app` serves `catalog()`; adding a provider to the simulator is adding its
module, with no edit here, in `app.py` or in the call counter.

`extra_simulated(...)` adds providers defined elsewhere (a test's) to the simulators created
inside its block, as `providers.registry.extra_adapters` does for adapters.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from cryptoagg.sim.state import SimProvider

PACKAGE = "cryptoagg.sim"
Catalog = tuple[SimProvider, ...]

_EXTRA: ContextVar[Catalog] = ContextVar("cryptoagg_extra_simulated", default=())


def by_name(providers: Iterable[SimProvider]) -> Catalog:
    """Sorted by name; a name declared twice is refused."""
    result = tuple(sorted(providers, key=lambda p: p.name))
    names = [p.name for p in result]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TypeError(f"more than one simulated provider named {', '.join(twice)}")
    return result


@cache
def discovered() -> Catalog:
    """The `SIMULATED` declarations of every module of this package (imported on first use:
    the modules themselves import `sim.state`, never this module)."""
    package = importlib.import_module(PACKAGE)
    found: list[SimProvider] = []
    for info in pkgutil.iter_modules(package.__path__, f"{PACKAGE}."):
        declared = getattr(importlib.import_module(info.name), "SIMULATED", ())
        found += declared
    return by_name(found)


def catalog() -> Catalog:
    """Every simulated provider: this package's and those `extra_simulated` added."""
    extra = _EXTRA.get()
    return by_name((*discovered(), *extra)) if extra else discovered()


@contextmanager
def extra_simulated(*providers: SimProvider) -> Iterator[Catalog]:
    """Simulators created within the block (and in tasks started there) serve `providers`."""
    token = _EXTRA.set((*_EXTRA.get(), *providers))
    try:
        yield catalog()
    finally:
        _EXTRA.reset(token)
