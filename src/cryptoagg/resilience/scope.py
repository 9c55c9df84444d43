"""Who an outbound call is for, carried from where work starts to where a request leaves.

A request handler, a collector run, a health probe or a CLI command opens a scope (priority,
the job it belongs to, its deadline); the pool opens a child scope per attempt that counts
the requests the adapter actually sent. `Guards.before_send`, the one place a request is
charged, reads the innermost scope. A context variable is copied into every task the work
spawns, so an adapter's concurrent sub-requests charge the same scope.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from cryptoagg.core.limits import Priority
from cryptoagg.resilience.retry import Deadline

#: the ledger's name for requests made on behalf of a client
CLIENT_JOB = "client"


@dataclass(slots=True)
class CallScope:
    priority: Priority = Priority.CLIENT
    #: the ledger's purpose: "client" or the background job's name
    job: str = CLIENT_JOB
    deadline: Deadline | None = None
    #: when the background run began: every call of one run counts as that run's, so a
    #: provider due at the start of a run stays due for the whole run
    started_at: datetime | None = None
    #: requests that left in this scope (and its children), per provider
    sent: dict[str, int] = field(default_factory=dict)
    parent: CallScope | None = None

    def remaining_s(self) -> float | None:
        return None if self.deadline is None else self.deadline.remaining()

    def count(self, provider: str) -> None:
        node: CallScope | None = self
        while node is not None:
            node.sent[provider] = node.sent.get(provider, 0) + 1
            node = node.parent


_current: ContextVar[CallScope | None] = ContextVar("cryptoagg_call_scope", default=None)


def current() -> CallScope:
    """The innermost scope; outside any, a client's (the API's handlers open none)."""
    return _current.get() or CallScope()


@contextlib.contextmanager
def scope(
    *,
    priority: Priority | None = None,
    job: str | None = None,
    deadline: Deadline | None = None,
    started_at: datetime | None = None,
) -> Iterator[CallScope]:
    """A child of the current scope: what is not given is inherited; `sent` starts at 0."""
    outer = current()
    inner = CallScope(
        priority=outer.priority if priority is None else priority,
        job=outer.job if job is None else job,
        deadline=deadline or outer.deadline,
        started_at=started_at or outer.started_at,
        parent=_current.get(),
    )
    token = _current.set(inner)
    try:
        yield inner
    finally:
        _current.reset(token)


def background(
    job: str, priority: Priority, started_at: datetime
) -> contextlib.AbstractContextManager[CallScope]:
    """The scope of a background job's run that began at `started_at`."""
    return scope(priority=priority, job=job, started_at=started_at)
