"""What every service process is made of: broker connection, database, outbox relay,
consumers, background workers and the AsyncAPI document. A service's bootstrap adds its
handlers, consumers and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import structlog
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from sqlalchemy import text

from .audit import AuditColumns
from .contracts import asyncapi, streams
from .contracts.envelope import EventPayload
from .db import create_db_engine
from .messaging.bus import EventHandler
from .messaging.consumer import AnswerBadMessage, BatchConsumer
from .messaging.consumer_spec import ConsumerSpec
from .messaging.records import InboxColumns, OutboxColumns
from .messaging.relay import OutboxRelay
from .messaging.streams import declare_streams, wait_for_streams
from .messaging.unit_of_work import UnitOfWork
from .messaging.worker import Worker
from .metrics import ServiceMetrics
from .settings import ServiceSettings
from .tracing import Tracing

log = structlog.get_logger("ips.runtime")


class ServiceRuntime:
    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        *,
        outbox: type[OutboxColumns],
        inbox: type[InboxColumns],
        audit: type[AuditColumns] | None = None,
        version: str = "0.1.0",
        description: str = "",
    ) -> None:
        self.name = name
        self.settings = settings
        self.description = description
        self.version = version
        self.engine = create_db_engine(settings.database_url)
        # Its own registry and tracer: several services may run in one process (the tests).
        self.metrics = ServiceMetrics(name)
        self.tracing = Tracing(name, otlp_endpoint=settings.otlp_endpoint)
        self._outbox = outbox
        self._inbox = inbox
        self.audit = audit  # the service's audit trail table; None keeps no trail
        # FastStream holds the connection (reconnects, draining on stop). Its lines per
        # message stay at DEBUG: consumers log batches and failures with event ids.
        endpoint = settings.nats_endpoint()
        self.identity = endpoint.credentials.identity if endpoint.credentials else None
        self.broker = NatsBroker(
            endpoint.servers,
            **endpoint.connect_options(),
            logger=logging.getLogger(f"ips.{name}.broker"),
            log_level=logging.DEBUG,
            graceful_timeout=15.0,
            max_reconnect_attempts=-1,
        )
        self.relay = OutboxRelay(
            self.engine,
            outbox,
            self.jetstream,
            poll_seconds=settings.relay_poll_seconds,
            metrics=self.metrics,
        )
        self.consumers: list[BatchConsumer] = []
        self.workers: list[Worker] = [self.relay]
        self._published: list[type[EventPayload]] = []
        self._jetstream: JetStreamContext | None = None
        self._worker_tasks: list[asyncio.Task[None]] = []

    # -- building blocks for the service ----------------------------------------------

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(
            self.engine,
            source=f"service/{self.name}",
            outbox=self._outbox,
            inbox=self._inbox,
            after_commit=self.relay.wake,
        )

    def consume(
        self,
        name: str,
        stream: streams.StreamSpec,
        subject: str,
        events: Sequence[type[EventPayload]],
        handler: EventHandler,
        description: str = "",
        answer_bad: AnswerBadMessage | None = None,
        source_must_match_subject: bool = False,
        batch_size: int | None = None,
        senders: Sequence[str] = (),
    ) -> BatchConsumer:
        """Consume `events` from `subject` with `handler`; with `answer_bad`, invalid or
        misaddressed events are answered through it instead of going to the dead-letter
        stream; `batch_size` overrides the service's `CONSUMER_BATCH_SIZE` for a
        consumer that takes bulk; `senders` (sources, or prefixes ending in `/`) overrides
        who may send, which is otherwise the stream's owner (`streams.senders`)."""
        spec = ConsumerSpec(
            service=self.name,
            name=name,
            stream=stream,
            subject=subject,
            events=tuple(events),
            batch_size=batch_size or self.settings.consumer_batch_size,
            max_deliver=self.settings.consumer_max_deliver,
            backoff_seconds=self.settings.consumer_backoff_seconds,
            description=description,
            source_must_match_subject=source_must_match_subject,
            senders=tuple(senders),
        )
        consumer = BatchConsumer(
            spec,
            self.unit_of_work,
            handler,
            self.broker,
            answer_bad,
            metrics=self.metrics,
            tracing=self.tracing,
        )
        self.consumers.append(consumer)
        return consumer

    def run_alongside(self, worker: Worker) -> None:
        """Run a background loop (a scheduler, say) from start to stop of the service."""
        self.workers.append(worker)

    def publishes(self, *events: type[EventPayload]) -> None:
        """Name the events this service emits (through its outbox), for its AsyncAPI."""
        self._published.extend(events)

    @property
    def published_events(self) -> tuple[type[EventPayload], ...]:
        return tuple(self._published)

    def jetstream(self) -> JetStreamContext:
        if self._jetstream is None:
            self._jetstream = self.broker.connection.jetstream()
        return self._jetstream

    # -- lifecycle -----------------------------------------------------------------------

    async def provision(self) -> None:
        """Declare the streams this service owns. Creating and changing streams is the
        admin identity's alone: run with `--nats-credentials` the admin's file, once per
        deployment (the service waits for its streams as it starts)."""
        await self.broker.connect()
        try:
            await declare_streams(
                self.jetstream(), streams.owned_by(self.name), self.settings.stream_replicas
            )
        finally:
            await self.broker.stop()

    async def start(self) -> None:
        await self.broker.connect()
        used = {spec.name: spec for spec in streams.owned_by(self.name)}
        used.update({c.spec.stream.name: c.spec.stream for c in self.consumers})
        await wait_for_streams(self.jetstream(), used.values(), self.settings.stream_wait_seconds)
        for consumer in self.consumers:
            await consumer.start()
        self._worker_tasks = [
            asyncio.create_task(worker.run(), name=f"{self.name}-{worker.name}")
            for worker in self.workers
        ]
        log.info("service.started", http_port=self.settings.http_port)

    async def stop(self) -> None:
        # Side by side: each drains its open pulls, so one after another could outlast the
        # orchestrator's shutdown window with many consumers.
        await asyncio.gather(*(consumer.stop() for consumer in self.consumers))
        for worker, task in zip(self.workers, self._worker_tasks, strict=True):
            worker.stop()
            try:
                await asyncio.wait_for(task, timeout=20)
            except TimeoutError:
                log.warning("service.worker_stop_timed_out", worker=worker.name)
        try:
            await self.broker.stop()
        except Exception as error:  # NATS gone already: nothing left to drain
            log.warning("service.broker_stop_failed", error=type(error).__name__)
        self.engine.dispose()
        await asyncio.to_thread(self.tracing.flush)
        log.info("service.stopped")

    async def readiness(self) -> dict[str, bool]:
        nats_ok = _connected(self.broker)
        try:
            await asyncio.to_thread(self._ping_database)
            database_ok = True
        except Exception:
            database_ok = False
        return {"nats": nats_ok, "database": database_ok}

    def consumer_problems(self) -> list[str]:
        """Consumers whose loop is not running, or whose stream or durable consumer is
        gone (as JetStream said at most a few seconds ago): names, never data."""
        return [problem for consumer in self.consumers for problem in consumer.problems()]

    def _ping_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def asyncapi(self) -> dict[str, Any]:
        received = [
            asyncapi.ChannelUse(
                c.spec.name,
                c.spec.subject,
                c.spec.events,
                "receive",
                c.spec.description or None,
                # Sent by outside parties, each on its own subject (the partner contract).
                asyncapi.SOURCE_AND_EVENT_ID
                if c.spec.source_must_match_subject
                else asyncapi.EVENT_ID,
            )
            for c in self.consumers
        ]
        sent = [
            asyncapi.ChannelUse(
                model.event_type,
                model.subject,
                (model,),
                "send",
                (model.__doc__ or "").strip() or None,
            )
            for model in self._published
        ]
        return asyncapi.document(
            f"ips-{self.name}", self.version, self.description, [*received, *sent]
        )


def _connected(broker: NatsBroker) -> bool:
    try:
        return bool(broker.connection.is_connected)
    except Exception:
        return False
