"""One database transaction holding a state change, the events it emits and the inbox."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ..contracts.envelope import CloudEvent, EventPayload
from ..db import bulk_insert, member_of, new_session, utcnow
from ..tracing import trace_context_for
from .causation import Chain, current_chain
from .records import InboxColumns, OutboxColumns

InboxKey = tuple[str, str]
"""An inbox entry: an applied event's identity, `(source, id)` as CloudEvents defines it
(`identity`), or the stream position of a message answered instead of applied
(`at_position`): a redelivery of that message is not answered twice, while the same
event sent again, at another position, is evaluated afresh."""


def identity(event: CloudEvent[Any]) -> InboxKey:
    return (event.source, event.id)


def at_position(stream_sequence: int) -> InboxKey:
    """No event's source is empty, so a position never passes for an identity."""
    return ("", str(stream_sequence))


class UnitOfWork:
    """Use as a context manager; nothing is kept unless `commit()` is called."""

    def __init__(
        self,
        engine: Engine,
        *,
        source: str,
        outbox: type[OutboxColumns],
        inbox: type[InboxColumns],
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self.source = source
        self._outbox = outbox
        self._inbox = inbox
        self._after_commit = after_commit
        self._outbox_rows: list[dict[str, Any]] = []
        self._on_commit: list[Callable[[], None]] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = new_session(self._engine)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed; unlike rollback() it leaves the
        # loaded objects readable for the caller.
        self.session.close()

    def emit(
        self,
        data: EventPayload,
        *,
        cause: CloudEvent[Any] | None = None,
        partition_key: str | None = None,
        subject: str | None = None,
    ) -> CloudEvent[Any]:
        """Queue an event for publishing once this transaction commits.

        `cause`: the event being applied that this one reacts to; it continues that
        event's chain. Without it the event continues the chain of the request at hand
        (`causation.within`), or starts a chain of its own. The trace goes the same way
        (`tracing.trace_context_for`): the span applying `cause`, else the one at hand."""
        chain = Chain(cause.correlationid or cause.id, cause.id) if cause else current_chain()
        envelope = CloudEvent.wrap(
            data,
            source=self.source,
            correlation_id=chain.correlation_id if chain else None,
            causation_id=chain.causation_id if chain else None,
            partition_key=partition_key,
        )
        # Written at commit, all of this transaction's events in one statement (COPY on
        # PostgreSQL), in the order emitted: a batch answering many reports writes one
        # statement, not an ORM object per event.
        self._outbox_rows.append(
            {
                "event_id": envelope.id,
                "subject": subject or envelope.nats_subject,
                "event_type": envelope.type,
                "payload": envelope.to_json(),
                "created_at": utcnow(),
                "trace_context": trace_context_for(cause),
            }
        )
        return envelope

    def handled_among(self, consumer: str, keys: Collection[InboxKey]) -> set[InboxKey]:
        """Which of these this consumer has handled already (one query, by event id)."""
        if not keys:
            return set()
        table = self._inbox
        dialect = self.session.get_bind().dialect.name
        rows = self.session.exec(
            select(table.source, table.event_id).where(
                table.consumer == consumer,
                member_of(col(table.event_id), {event_id for _, event_id in keys}, dialect),
            )
        ).all()
        wanted = set(keys) if rows else set()  # the usual batch: nothing found
        return {(source, event_id) for source, event_id in rows if (source, event_id) in wanted}

    def mark_handled(self, consumer: str, keys: Sequence[InboxKey]) -> None:
        now = utcnow()
        bulk_insert(
            self.session.connection(),
            self._inbox,
            [
                {"consumer": consumer, "event_id": event_id, "source": source, "applied_at": now}
                for source, event_id in keys
            ],
        )

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (not if it rolls back)."""
        self._on_commit.append(callback)

    def commit(self) -> None:
        emitted, self._outbox_rows = self._outbox_rows, []
        if emitted:
            self.session.flush()  # what the handler changed, then its events after it
            bulk_insert(self.session.connection(), self._outbox, emitted)
        self.session.commit()
        if emitted and self._after_commit:
            self._after_commit()
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            callback()
