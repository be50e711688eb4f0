"""Explicit-ack batch consumers with an idempotent inbox and a dead-letter stream.

A durable pull consumer (`PullLoop`) hands over up to `batch_size` messages at a time.
The batch is applied in one transaction: the inbox is checked with one query, the
effects and the inbox rows commit together, then every message is acknowledged. If the
transaction fails, the batch is replayed one message per transaction so that one bad
event cannot hold back the others: a failing message is negatively acknowledged with a
backoff delay and, at its last delivery, written to the service's dead-letter stream
with the reason. A payload that fails validation is never retried: it is answered to
its source (`answer_bad`) or goes to the dead-letter stream at once.

Order: events sharing a `partitionkey` (for example a person id) are applied in stream
order. While one of them waits for redelivery, later events with the same key are held
back (`KeyGate`). Across a crash or a restart of the loop, the durable consumer is taken
up again from its acknowledgement floor, so what was in flight comes before anything
newer (`DurableConsumer.bind`). That guarantee holds with one consumer process per service;
replicas would need subject partitioning.

No message ends a consumer: whatever checking one raises, it is answered or
dead-lettered and the batch goes on; a loop that dies anyway is started again
(`PullLoop`). `problems()` says, for `/readyz`, when the loop is not running or the
stream or the durable consumer is gone; a deleted durable is made again.

Counted (`ips_shared.metrics`, labelled by the consumer and the subject it consumes):
batch sizes, the time each batch's transaction takes, messages handled, failed, answered
and dead-lettered, redeliveries and what JetStream says is pending. Traced
(`ips_shared.tracing.BatchTrace`): each message that carries a trace context gets a span
whose parent is that context, and what its application emits continues it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from ..contracts.envelope import CloudEvent
from ..logs import describe_error
from ..metrics import ConsumerMetrics, ServiceMetrics
from ..tracing import BatchTrace, Tracing
from .bus import EventHandler
from .consumer_spec import ConsumerSpec, UnknownEventType
from .dead_letters import dead_letter
from .durable import DurableConsumer
from .inbox import apply_batch
from .ordering import KeyGate
from .pull import PullLoop, raised_at
from .unit_of_work import UnitOfWork, at_position

log = structlog.get_logger("ips.consumer")


@dataclass(frozen=True)
class BadMessage:
    """A message that cannot be applied as sent, to be answered to its source."""

    subject: str
    event_id: str | None
    code: str  # "invalid_payload", "source_mismatch" or "source_not_allowed"
    reason: str


AnswerBadMessage = Callable[[BadMessage, UnitOfWork], None]
"""Records and answers a bad message inside the given unit of work (a worker thread)."""


class BatchConsumer:
    """Binds a `ConsumerSpec` and an event handler to the broker's connection."""

    def __init__(
        self,
        spec: ConsumerSpec,
        unit_of_work: Callable[[], UnitOfWork],
        handler: EventHandler,
        broker: NatsBroker,
        answer_bad: AnswerBadMessage | None = None,
        *,
        metrics: ServiceMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.spec = spec
        self._metrics = ConsumerMetrics(
            metrics or ServiceMetrics(spec.service), spec.name, spec.subject
        )
        self._tracing = tracing or Tracing(spec.service)
        self._unit_of_work = unit_of_work
        self._handler = handler
        self._answer_bad = answer_bad
        self._broker = broker
        self._gate = KeyGate()
        self._committing: asyncio.Task[None] | None = None
        self._jetstream: JetStreamContext | None = None
        self._pull: PullLoop | None = None
        self._durable: DurableConsumer | None = None
        self._watching: asyncio.Task[None] | None = None

    async def start(self) -> None:
        connection = self._broker.connection
        self._jetstream = connection.jetstream()
        self._durable = DurableConsumer(self._jetstream, self.spec)
        await self._durable.bind()
        self._pull = PullLoop(
            connection,
            self.spec.stream.name,
            self.spec.name,
            self.spec.batch_size,
            self.handle_batch,
            on_rebind=self._rebind,
        )
        await self._pull.start()
        self._watching = asyncio.create_task(
            self._durable.watch(self._pull.rebind), name=f"watch:{self.spec.name}"
        )

    async def stop(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        if self._pull is not None:
            await self._pull.stop()
        await self._previous_committed()

    def problems(self) -> list[str]:
        """What keeps this consumer from consuming, for `/readyz`: names, never data."""
        found = []
        if self._pull is None or not self._pull.running:
            found.append(f"consumer {self.spec.name}: its loop is not running")
        if self._durable is not None and self._durable.missing is not None:
            found.append(f"consumer {self.spec.name}: {self._durable.missing}")
        return found

    async def _rebind(self) -> None:
        """Before the loop pulls again after it stopped: let the batch in hand commit, then
        take up the durable afresh. The events held back for a key no longer wait: what
        was not acknowledged now comes again in stream order."""
        await self._previous_committed()
        self._gate = KeyGate()
        await self._durable.bind()

    # -- processing ---------------------------------------------------------------------

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Read and check this batch while the previous one commits (its database work
        runs in a thread), then commit it after the previous one: in order, overlapped."""
        ready = await self._prepare(messages)
        await self._previous_committed()
        if ready:
            self._committing = asyncio.create_task(self._commit(ready))

    async def _previous_committed(self) -> None:
        committing, self._committing = self._committing, None
        if committing is not None:
            await committing

    async def _prepare(self, messages: Sequence[Msg]) -> list[tuple[Msg, CloudEvent[Any]]]:
        """Parse and check; what cannot be applied is answered or dead-lettered here.
        Whatever a message makes a step raise, it ends there, not the consumer."""
        ready: list[tuple[Msg, CloudEvent[Any]]] = []
        redelivered = 0
        for message in messages:
            try:
                deliveries = message.metadata.num_delivered or 1
                if deliveries > 1:
                    redelivered += 1
                if deliveries > self.spec.max_deliver * 3:
                    # Delivered again and again without ever finishing (its ack wait ran
                    # out each time, say).
                    await self._dead_letter(
                        message, "delivery_limit", "never finished processing", event_id=None
                    )
                    continue
                try:
                    event = self.spec.parse(message.data)
                except Exception as error:  # whatever reading it raised (RecursionError too)
                    bad = BadMessage(
                        message.subject,
                        _claimed_id(message.data),
                        "invalid_payload",
                        _why_unreadable(error),
                    )
                    await self._bad(message, bad)
                    continue
                if self.spec.source_must_match_subject and not _sent_on_own_subject(event, message):
                    reason = "the envelope's source does not match the subject it was published on"
                    await self._bad(
                        message, BadMessage(message.subject, event.id, "source_mismatch", reason)
                    )
                    continue
                if not self.spec.may_send(event.source):
                    await self._refuse_sender(message, event)
                    continue
                ready.append((message, event))
            except Exception as error:  # a defect met by this message: keep it for a look
                log.error(
                    "consumer.unexpected_error",
                    consumer=self.spec.name,
                    error=type(error).__name__,
                    where=raised_at(error),
                )
                reason = f"unexpected {type(error).__name__} while checking it"
                await self._dead_letter(message, "consumer_error", reason, event_id=None)
        self._count_received(messages, redelivered)
        return ready

    def _count_received(self, messages: Sequence[Msg], redelivered: int) -> None:
        """The batch's size, its redeliveries, and what JetStream said is still pending
        (with the batch's last message)."""
        metrics = self._metrics
        metrics.batch_size.observe(len(messages))
        if redelivered:
            metrics.redelivered.inc(redelivered)
        with contextlib.suppress(Exception):  # metadata a message did not have
            pending = messages[-1].metadata.num_pending
            if pending is not None:
                metrics.pending.set(pending)

    async def _refuse_sender(self, message: Msg, event: CloudEvent[Any]) -> None:
        """An event from a source that may not send it (a forged internal event, hours from
        a service): never applied, answered or dead-lettered with the senders allowed."""
        log.warning("consumer.source_not_allowed", consumer=self.spec.name, event_id=event.id)
        reason = f"{event.type} is accepted here from {', '.join(self.spec.senders)} only"
        # Answers follow the partner contract (`HoursRejectionCode`), where a source that
        # may not publish where it did is a `source_mismatch`.
        code = "source_mismatch" if self._answer_bad is not None else "source_not_allowed"
        await self._bad(message, BadMessage(message.subject, event.id, code, reason))

    async def _commit(self, prepared: list[tuple[Msg, CloudEvent[Any]]]) -> None:
        """Apply in one transaction, then acknowledge. Never raises: what is not
        acknowledged is delivered again."""
        try:
            ready = []
            for message, event in prepared:  # after the previous batch: its failures hold keys
                if self._held_back(message, event):
                    await message.nak(delay=self._gate.hold_delay(event.partitionkey))  # type: ignore[arg-type]
                else:
                    ready.append((message, event))
            if not ready:
                return
            try:
                await self._apply(ready)
            except Exception:
                log.info(
                    "consumer.batch_failed_replaying_singly",
                    consumer=self.spec.name,
                    size=len(ready),
                )
                await self._apply_one_by_one(ready)
                return
            for message, event in ready:
                if self._gate:
                    self._release(message, event)
                await message.ack()
            self._metrics.handled.inc(len(ready))
        except Exception as error:  # the connection, most likely: the server redelivers
            log.warning("consumer.commit_interrupted", error=type(error).__name__)

    async def _apply(self, ready: Sequence[tuple[Msg, CloudEvent[Any]]]) -> None:
        """One transaction in a worker thread, timed and traced; raises what it raised."""
        traced = self._tracing.batch(self.spec.name, self.spec.subject, ready)
        began = time.perf_counter()
        try:
            await asyncio.to_thread(self._apply_in_one_transaction, ready, traced)
        except Exception as error:
            traced.end(error)
            raise
        self._metrics.handling_seconds.observe(time.perf_counter() - began)
        traced.end()

    def _apply_in_one_transaction(
        self, ready: Sequence[tuple[Msg, CloudEvent[Any]]], traced: BatchTrace
    ) -> None:
        with (
            self._unit_of_work() as uow,
            _log_context([event for _, event in ready]),
            traced.applying(),
        ):
            apply_batch(uow, self.spec.name, self._handler, ready)
            uow.commit()

    async def _apply_one_by_one(self, ready: list[tuple[Msg, CloudEvent[Any]]]) -> None:
        for message, event in ready:
            if self._held_back(message, event):
                await message.nak(delay=self._gate.hold_delay(event.partitionkey))  # type: ignore[arg-type]
                continue
            try:
                await self._apply([(message, event)])
            except Exception as error:
                await self._failed(message, event, error)
                continue
            self._release(message, event)
            await message.ack()
            self._metrics.handled.inc()

    async def _failed(self, message: Msg, event: CloudEvent[Any], error: Exception) -> None:
        self._metrics.failed.inc()
        deliveries = message.metadata.num_delivered or 1
        context = {**event.log_context(), "consumer": self.spec.name, "deliveries": deliveries}
        if deliveries >= self.spec.max_deliver:
            log.error("consumer.giving_up", error=type(error).__name__, **context)
            await self._dead_letter(
                message, "handler_failed", describe_error(error), event_id=event.id
            )
            self._release(message, event)
            return
        delay = self.spec.backoff(deliveries)
        log.warning("consumer.retry_later", error=type(error).__name__, retry_in=delay, **context)
        self._gate.block(event.partitionkey, message.metadata.sequence.stream, delay)
        await message.nak(delay=delay)

    async def _bad(self, message: Msg, bad: BadMessage) -> None:
        """Answer the source when the service can (once per message), else dead-letter."""
        if self._answer_bad is None:
            await self._dead_letter(message, bad.code, bad.reason, event_id=bad.event_id)
            return
        try:
            await asyncio.to_thread(self._record_answer, message, bad)
        except Exception as error:
            log.error("consumer.answer_failed", error=type(error).__name__, event_id=bad.event_id)
            await self._dead_letter(message, bad.code, bad.reason, event_id=bad.event_id)
            return
        log.info("consumer.answered", consumer=self.spec.name, code=bad.code, event_id=bad.event_id)
        await message.ack()
        self._metrics.answered(bad.code)

    def _record_answer(self, message: Msg, bad: BadMessage) -> None:
        assert self._answer_bad is not None
        # Keyed by stream position: a redelivered message is answered once, even without an id.
        key = at_position(message.metadata.sequence.stream)
        with self._unit_of_work() as uow:
            if not uow.handled_among(self.spec.name, [key]):
                self._answer_bad(bad, uow)
                uow.mark_handled(self.spec.name, [key])
                uow.commit()

    def _held_back(self, message: Msg, event: CloudEvent[Any]) -> bool:
        return self._gate.held_back(event.partitionkey, message.metadata.sequence.stream)

    def _release(self, message: Msg, event: CloudEvent[Any]) -> None:
        self._gate.release(event.partitionkey, message.metadata.sequence.stream)

    async def _dead_letter(
        self, message: Msg, error_code: str, reason: str, *, event_id: str | None
    ) -> None:
        assert self._jetstream is not None, "the consumer was not started"
        try:
            await dead_letter(
                self._jetstream,
                message,
                service=self.spec.service,
                consumer=self.spec.name,
                error_code=error_code,
                reason=reason,
                event_id=event_id,
            )
        except Exception as error:
            log.error(
                "consumer.dead_letter_failed", consumer=self.spec.name, error=type(error).__name__
            )
            with contextlib.suppress(Exception):  # else its ack wait ends and it comes again
                await message.nak(delay=self.spec.backoff(1))
            return
        self._metrics.dead_lettered(error_code)
        if self._gate:  # one held back and dead-lettered at its delivery limit, say
            self._gate.forget(message.metadata.sequence.stream)


def _sent_on_own_subject(event: CloudEvent[Any], message: Msg) -> bool:
    try:
        return event.nats_subject == message.subject
    except ValueError:  # a source no subject can be derived from
        return False


def _log_context(events: Sequence[CloudEvent[Any]]) -> contextlib.AbstractContextManager[Any]:
    """Lines logged while one event is applied carry its ids; a batch's carry its size."""
    if len(events) == 1:
        return structlog.contextvars.bound_contextvars(**events[0].log_context())
    return structlog.contextvars.bound_contextvars(batch_size=len(events))


def _claimed_id(body: bytes) -> str | None:
    """The `id` an invalid event claims, if it can be read, so its log line can name it."""
    try:
        claimed = json.loads(body).get("id")
    except Exception:  # not JSON, not an object, nested too deep (RecursionError)...
        return None
    return claimed if isinstance(claimed, str) and 0 < len(claimed) <= 128 else None


def _why_unreadable(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return describe_error(error)
    if isinstance(error, UnknownEventType):
        return f"UnknownEventType: {error}"  # our own sentence, naming the event type
    return f"unreadable: {type(error).__name__}"  # its message might quote the input
