"""The outbox relay: publishes committed events to JetStream, in order, at least once.

A row is marked published only after JetStream acknowledged it; `Nats-Msg-Id` carries
the event id so a re-publish within the stream's duplicate window is dropped by the
server, and consumers' inboxes drop anything older. While NATS is down the rows stay
and the relay retries with exponential backoff.

On PostgreSQL the rows are claimed with `FOR UPDATE SKIP LOCKED` and held until marked,
so several relays (replicas of one service) never publish the same row concurrently.
SQLite has one writer per file, so there the relay reads, publishes and marks in short
transactions and must run once per database (which the single process guarantees).

A row's trace context (`trace_context`, see `ips_shared.tracing`) goes out as the headers
`traceparent` and `tracestate`, as stored: the payload is never read again. As it polls,
the relay tells the service's metrics how many rows wait and since when (from the rows it
claims; rows are counted only when a whole batch is claimed), so a scrape reads no table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import structlog
from nats.js import JetStreamContext
from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, col, select

from ..contracts.envelope import MSG_ID_HEADER
from ..db import new_session, utcnow
from ..metrics import ServiceMetrics
from ..tracing import add_headers
from .records import OutboxColumns
from .worker import Worker

log = structlog.get_logger("ips.outbox")
PURGE_EVERY_SECONDS = 3600.0
T = TypeVar("T")


class PendingRow(NamedTuple):
    position: int
    event_id: str
    subject: str
    payload: bytes
    created_at: datetime
    trace_context: str | None


class Claimed(NamedTuple):
    rows: Sequence[PendingRow]
    unpublished: int  # rows left unpublished when these were claimed, these included


class OutboxRelay(Worker):
    def __init__(
        self,
        engine: Engine,
        outbox: type[OutboxColumns],
        jetstream: Callable[[], JetStreamContext],
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        publish_timeout: float = 5.0,
        max_backoff_seconds: float = 30.0,
        keep_published: timedelta = timedelta(days=7),
        metrics: ServiceMetrics | None = None,
    ) -> None:
        super().__init__("outbox", poll_seconds, max_backoff_seconds)
        self._engine = engine
        self._outbox = outbox
        self._jetstream = jetstream
        self._batch_size = batch_size
        self._publish_timeout = publish_timeout
        self._keep_published = keep_published
        self._locks_rows = engine.dialect.name == "postgresql"
        self._last_purge = 0.0
        self._metrics = metrics

    async def work(self) -> None:
        await self.publish_pending()
        if time.monotonic() - self._last_purge > PURGE_EVERY_SECONDS:
            await asyncio.to_thread(self._purge_published)
            self._last_purge = time.monotonic()

    async def publish_pending(self) -> int:
        """Publish everything unpublished; returns how many rows were published."""
        total = 0
        while True:
            published = await self._publish_batch()
            total += published
            if published < self._batch_size:
                return total

    async def _publish_batch(self) -> int:
        if self._locks_rows:
            return await self._publish_claimed_batch()
        # SQLite: read and mark in short transactions of their own, so the file's single
        # write lock is never held while waiting on NATS or on the event loop.
        claimed = await asyncio.to_thread(self._in_new_session, self._claim)
        return await self._publish_rows(
            claimed,
            lambda done: asyncio.to_thread(self._in_new_session, self._mark_published, done),
        )

    async def _publish_claimed_batch(self) -> int:
        """PostgreSQL: the claimed rows stay locked until they are marked published."""
        session = new_session(self._engine)
        try:
            claimed = await asyncio.to_thread(self._claim, session)
            return await self._publish_rows(
                claimed, lambda done: asyncio.to_thread(self._mark_published, session, done)
            )
        finally:
            await asyncio.to_thread(session.close)

    async def _publish_rows(
        self,
        claimed: Claimed,
        mark: Callable[[list[int]], Awaitable[None]],
    ) -> int:
        rows = claimed.rows
        if not rows:
            self._seen(0, None)
            return 0
        self._seen(claimed.unpublished, rows[0].created_at)
        results = await asyncio.gather(
            *(self._publish(row) for row in rows), return_exceptions=True
        )
        done = [row.position for row, result in zip(rows, results, strict=True) if result is None]
        await mark(done)
        self._published(rows, results, claimed.unpublished - len(done))
        failed = [result for result in results if isinstance(result, BaseException)]
        if failed:
            raise failed[0]
        log.debug("outbox.published", count=len(done))
        return len(done)

    def _in_new_session(self, work: Callable[..., T], *args: Any) -> T:
        with new_session(self._engine) as session:
            return work(session, *args)

    def _claim(self, session: Session) -> Claimed:
        table = self._outbox
        query = (
            select(
                table.position,
                table.event_id,
                table.subject,
                table.payload,
                table.created_at,
                table.trace_context,
            )
            .where(col(table.published_at).is_(None))
            .order_by(col(table.position))
            .limit(self._batch_size)
        )
        if self._locks_rows:
            query = query.with_for_update(skip_locked=True)
        rows = [PendingRow(*row) for row in session.exec(query)]
        unpublished = len(rows)
        if unpublished == self._batch_size and self._metrics is not None:
            # More may wait: counted (on the index of `published_at`) only then.
            unpublished = session.exec(
                select(func.count()).select_from(table).where(col(table.published_at).is_(None))
            ).one()
        return Claimed(rows, unpublished)

    def _seen(self, unpublished: int, oldest: datetime | None) -> None:
        if self._metrics is not None:
            self._metrics.outbox_seen(unpublished, oldest)

    def _published(
        self, rows: Sequence[PendingRow], results: Sequence[object], unpublished: int
    ) -> None:
        """After a batch: what is left, and since when (the first row that failed)."""
        if self._metrics is None:
            return
        published = 0
        oldest = None
        for row, result in zip(rows, results, strict=True):
            if result is None:
                published += 1
            elif oldest is None:
                oldest = row.created_at
        self._metrics.outbox_published.inc(published)
        if oldest is None and unpublished > 0:
            oldest = rows[-1].created_at  # until the relay claims the rows after these
        self._metrics.outbox_seen(unpublished, oldest)

    async def _publish(self, row: PendingRow) -> None:
        headers = {MSG_ID_HEADER: row.event_id}
        if row.trace_context:
            add_headers(headers, row.trace_context)
        await self._jetstream().publish(
            row.subject,
            row.payload,
            timeout=self._publish_timeout,
            headers=headers,
        )

    def _mark_published(self, session: Session, positions: list[int]) -> None:
        if positions:
            table = self._outbox
            session.connection().execute(
                update(table)
                .where(col(table.position).in_(positions))
                .values(published_at=utcnow())
            )
        session.commit()

    def _purge_published(self) -> None:
        table = self._outbox
        cutoff = utcnow() - self._keep_published
        with new_session(self._engine) as session:
            session.connection().execute(
                delete(table).where(
                    col(table.published_at).is_not(None), col(table.published_at) < cutoff
                )
            )
            session.commit()
