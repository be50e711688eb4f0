"""Every use case behind one signature: a message in, a unit of work given.

A handler is a function `handler(message, uow, *, dependency=...)`. Its first parameter
is a `Command` (it changes state) or a `Query` (it only reads), or, for a consumer, the
batch of events applied in one transaction. The keyword-only parameters name what it
needs from the service (a clock, the policy, a scheduler to wake); the service's
bootstrap binds them, so entry points see `(message, uow)` only.

`MessageBus.handle` opens the unit of work, runs the handler and commits a command's
work (a handler never commits itself: a consumer commits the events' effects together
with its inbox)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from ..contracts.envelope import CloudEvent
from .unit_of_work import UnitOfWork

ResultT = TypeVar("ResultT")


class Command(Generic[ResultT]):
    """A request to change state; subclasses are frozen dataclasses."""


class Query(Generic[ResultT]):
    """A request to read; its unit of work is never committed."""


Handler = Callable[[Any, UnitOfWork], Any]
Refused = Collection[CloudEvent[Any]] | None
"""What a consumer's handler returns: the events of its batch it refused (answered to
their source, not applied; the same event sent again is evaluated afresh), or None when
it applied them all."""
EventHandler = Callable[[Sequence[CloudEvent[Any]], UnitOfWork], Refused]
"""A consumer's handler: the batch of events applied in one transaction."""


def bind_dependencies(handler: Callable[..., Any], dependencies: Mapping[str, Any]) -> Handler:
    """The handler with the dependencies it names (its keyword-only parameters) given."""
    wanted = [
        name
        for name, parameter in inspect.signature(handler).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    missing = [name for name in wanted if name not in dependencies]
    if missing:
        raise TypeError(f"{handler.__qualname__} needs {', '.join(missing)}")
    if not wanted:
        return handler
    bound = functools.partial(handler, **{name: dependencies[name] for name in wanted})
    return functools.update_wrapper(bound, handler)


def message_type(handler: Callable[..., Any]) -> type:
    """The class of a handler's first parameter, from its annotation."""
    first = next(iter(inspect.signature(handler).parameters))
    annotation = typing.get_type_hints(handler)[first]
    if not (isinstance(annotation, type) and issubclass(annotation, Command | Query)):
        raise TypeError(f"{handler.__qualname__}: the first parameter is no Command or Query")
    return annotation


class MessageBus:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        handlers: Iterable[Callable[..., Any]],
        dependencies: Mapping[str, Any],
    ) -> None:
        self._unit_of_work = unit_of_work
        self._dependencies = dependencies
        self._handlers: dict[type, Handler] = {}
        for handler in handlers:
            kind = message_type(handler)
            if kind in self._handlers:
                raise TypeError(f"two handlers for {kind.__name__}")
            self._handlers[kind] = bind_dependencies(handler, dependencies)

    def handle(self, message: Command[ResultT] | Query[ResultT]) -> ResultT:
        """Run the message's handler in a unit of work of its own (blocking)."""
        handler = self._handlers[type(message)]
        with self._unit_of_work() as uow:
            result: ResultT = handler(message, uow)
            if isinstance(message, Command):
                uow.commit()
        return result

    async def dispatch(self, message: Command[ResultT] | Query[ResultT]) -> ResultT:
        """`handle` in a worker thread: the database work is synchronous."""
        return await asyncio.to_thread(self.handle, message)

    def bind(self, handler: Callable[..., Any]) -> Handler:
        """A handler with the service's dependencies bound, for a consumer to call with
        the events it applies (or a bad message it answers) and its unit of work."""
        return bind_dependencies(handler, self._dependencies)
