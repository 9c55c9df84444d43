"""Every provider adapter, found rather than listed: a module of this package that defines an
`HttpProvider` subclass with a `name` of its own adds a provider, sorted by its declared
`order` (its default priority is its position). Adding a provider is adding its module.

`extra_adapters(...)` adds adapters defined elsewhere (a test's) for the code that runs inside
its block, tasks started there included; `adapters()` is what the composition root, the start-up
checks and the CLI build from. A context variable rather than a module-level list, so nothing
registered outlives the block that registered it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from cryptoagg.providers.base import HttpProvider

Adapters = tuple[type[HttpProvider], ...]
PACKAGE = "cryptoagg.providers"

_EXTRA: ContextVar[Adapters] = ContextVar("cryptoagg_extra_adapters", default=())


def is_adapter(value: object, module: str) -> bool:
    """A concrete adapter defined in `module` (a base such as `RssNewsProvider` names none)."""
    return (
        inspect.isclass(value)
        and issubclass(value, HttpProvider)
        and value.__module__ == module
        and "name" in vars(value)
    )


def check(cls: type[HttpProvider]) -> type[HttpProvider]:
    """Refuse an adapter that does not describe itself fully (at import, not at run time)."""
    name = vars(cls).get("name")
    problems = []
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        problems.append("a lower-case identifier as `name`")
    if not isinstance(getattr(cls, "order", None), int):
        problems.append("an integer `order`")
    if "" not in getattr(cls, "hosts", {}):
        problems.append('a main host ("") in `hosts`')
    if not getattr(cls, "capabilities", None):
        problems.append("its `capabilities`")
    if cls.requires_key and not cls.uses_key:
        problems.append("`uses_key` (it requires a key)")
    if problems:
        raise TypeError(f"provider adapter {cls.__qualname__} needs " + ", ".join(problems))
    return cls


def ordered(classes: Iterable[type[HttpProvider]]) -> Adapters:
    """By `order`, then name; two adapters of one name are refused."""
    result = tuple(sorted(classes, key=lambda cls: (cls.order, cls.name)))
    names = [cls.name for cls in result]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TypeError(f"more than one provider adapter named {', '.join(twice)}")
    return result


def discover() -> Adapters:
    """The adapters of every module of this package, checked and ordered."""
    package = importlib.import_module(PACKAGE)
    found = []
    for info in pkgutil.iter_modules(package.__path__, f"{PACKAGE}."):
        module = importlib.import_module(info.name)
        found += [check(v) for v in vars(module).values() if is_adapter(v, module.__name__)]
    return ordered(found)


#: the adapters of this package, in default priority order
PROVIDERS: Adapters = discover()


def adapters() -> Adapters:
    """The adapters of this package and those `extra_adapters` added, in default priority
    order."""
    extra = _EXTRA.get()
    return ordered((*PROVIDERS, *extra)) if extra else PROVIDERS


@contextmanager
def extra_adapters(*classes: type[HttpProvider]) -> Iterator[Adapters]:
    """`adapters()` includes `classes` within the block (and in tasks started there)."""
    for cls in classes:
        check(cls)
    token = _EXTRA.set((*_EXTRA.get(), *classes))
    try:
        yield adapters()
    finally:
        _EXTRA.reset(token)
