"""The chain an event belongs to: `correlationid` names the request that started it,
`causationid` the event whose application emitted it.

An HTTP request opens a chain (`chain_of_request`); a consumer applying an event passes
that event as the cause of what its effects emit (`UnitOfWork.emit(..., cause=event)`).
Log lines written within a chain carry both ids."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

from ..contracts.envelope import new_event_id

CORRELATION_HEADER = "X-Correlation-Id"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class Chain:
    correlation_id: str
    causation_id: str | None = None


_current: ContextVar[Chain | None] = ContextVar("ips_chain", default=None)


def current_chain() -> Chain | None:
    return _current.get()


@contextlib.contextmanager
def within(chain: Chain) -> Iterator[Chain]:
    """Work done here (threads started with `asyncio.to_thread` included) is in `chain`."""
    token = _current.set(chain)
    ids = {"correlation_id": chain.correlation_id}
    if chain.causation_id:
        ids["causation_id"] = chain.causation_id
    try:
        with structlog.contextvars.bound_contextvars(**ids):
            yield chain
    finally:
        _current.reset(token)


def chain_of_request(header: str | None) -> Chain:
    """A caller may name the chain (a well-formed id); otherwise a new one starts."""
    if header and _ACCEPTED_ID.match(header):
        return Chain(header)
    return Chain(new_event_id())
