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
newer (`_bind_durable`). That guarantee holds with one consumer process per service;
replicas would need subject partitioning.

No message ends a consumer: whatever checking one raises, it is answered or
dead-lettered and the batch goes on; a loop that dies anyway is started again
(`PullLoop`). `problems()` says, for `/readyz`, when the loop is not running or the
stream or the durable consumer is gone; a deleted durable is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import structlog
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from ..contracts.envelope import CloudEvent
from .bus import EventHandler
from .consumer_spec import ConsumerSpec, UnknownEventType
from .dead_letters import dead_letter
from .ordering import KeyGate
from .pull import PullLoop, raised_at
from .unit_of_work import InboxKey, UnitOfWork, at_position, identity

log = structlog.get_logger("ips.consumer")

WATCH_SECONDS = 2.0  # how often JetStream is asked whether the durable consumer is there
STREAM_NOT_FOUND = 10059  # JetStream's error code


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
    ) -> None:
        self.spec = spec
        self._unit_of_work = unit_of_work
        self._handler = handler
        self._answer_bad = answer_bad
        self._broker = broker
        self._gate = KeyGate()
        self._committing: asyncio.Task[None] | None = None
        self._jetstream: JetStreamContext | None = None
        self._pull: PullLoop | None = None
        self._watching: asyncio.Task[None] | None = None
        # What the last look at JetStream found: the stream the durable consumer was made
        # on (by creation time), its acknowledgement floor, and what is missing, if anything.
        self._stream_created: datetime | None = None
        self._ack_floor = 0
        self._missing: str | None = None

    async def start(self) -> None:
        connection = self._broker.connection
        self._jetstream = connection.jetstream()
        await self._bind_durable()
        self._pull = PullLoop(
            connection,
            self.spec.stream.name,
            self.spec.name,
            self.spec.batch_size,
            self.handle_batch,
            on_rebind=self._rebind,
        )
        await self._pull.start()
        self._watching = asyncio.create_task(self._watch(), name=f"watch:{self.spec.name}")

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
        if self._missing is not None:
            found.append(f"consumer {self.spec.name}: {self._missing}")
        return found

    # -- the durable consumer -----------------------------------------------------------

    async def _bind_durable(self) -> None:
        """Create the durable consumer, or take up the one there so that what it delivered
        and nobody acknowledged comes first, in stream order.

        JetStream redelivers an unacknowledged message only when its ack wait (60 s) ends,
        after newer ones: after a crash, a person's later event would be applied before the
        earlier one that was in flight. So a durable with unacknowledged messages is made
        anew from its acknowledgement floor (delete, then create at the next stream
        sequence; JetStream keeps the messages, its streams retain by limits). Re-reading
        from the floor is safe: an event applied already is skipped by the inbox, a message
        answered already is recognised by its position, and a message dead-lettered again
        carries the same `Nats-Msg-Id` (dropped within the duplicate window). Delivery
        counts start again, and this relies on one consuming process per service."""
        assert self._jetstream is not None
        jetstream, stream, name = self._jetstream, self.spec.stream.name, self.spec.name
        stream_info = await jetstream.stream_info(stream)
        try:
            info = await jetstream.consumer_info(stream, name)
        except NotFoundError:
            # Never made, or deleted under us: then from where it was, if the stream is the
            # same one (a stream made again numbers its messages from 1).
            same_stream = stream_info.created == self._stream_created
            start_at = self._ack_floor + 1 if same_stream and self._ack_floor else None
            created = await jetstream.add_consumer(stream, self.spec.server_config(start_at))
            if self._stream_created is not None:
                log.warning("consumer.durable_recreated", consumer=name, start_at=start_at)
        else:
            if info.num_ack_pending:
                start_at = _acknowledged_up_to(info) + 1
                await jetstream.delete_consumer(stream, name)
                created = await jetstream.add_consumer(stream, self.spec.server_config(start_at))
                log.info(
                    "consumer.resumed_from_ack_floor",
                    consumer=name,
                    start_at=start_at,
                    unacknowledged=info.num_ack_pending,
                )
            else:  # keep where it starts; settings such as the ack wait may have changed
                kept = info.config.opt_start_seq
                if info.config.deliver_policy != DeliverPolicy.BY_START_SEQUENCE:
                    kept = None
                created = await jetstream.add_consumer(stream, self.spec.server_config(kept))
        self._stream_created = stream_info.created
        self._ack_floor = _acknowledged_up_to(created)
        self._missing = None

    async def _rebind(self) -> None:
        """Before the loop pulls again after it stopped: let the batch in hand commit, then
        take up the durable afresh. The events held back for a key no longer wait: what
        was not acknowledged now comes again in stream order."""
        await self._previous_committed()
        self._gate = KeyGate()
        await self._bind_durable()

    async def _watch(self) -> None:
        """Every few seconds, ask JetStream whether the stream and the durable consumer are
        still there (for `/readyz`), and note the acknowledgement floor. A durable someone
        deleted is made again by the loop, from that floor, once its stream exists."""
        assert self._jetstream is not None and self._pull is not None
        stream, name = self.spec.stream.name, self.spec.name
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                info = await self._jetstream.consumer_info(stream, name, timeout=WATCH_SECONDS)
            except NotFoundError as error:
                self._missing = (
                    f"stream {stream} does not exist"
                    if error.err_code == STREAM_NOT_FOUND
                    else f"durable consumer {name} does not exist on stream {stream}"
                )
                self._pull.rebind()
            except Exception:  # NATS unreachable: the readiness check of the connection says so
                continue
            else:
                self._ack_floor = _acknowledged_up_to(info)
                self._missing = None

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
        for message in messages:
            try:
                if (message.metadata.num_delivered or 1) > self.spec.max_deliver * 3:
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
        return ready

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
                await asyncio.to_thread(self._apply_in_one_transaction, ready)
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
        except Exception as error:  # the connection, most likely: the server redelivers
            log.warning("consumer.commit_interrupted", error=type(error).__name__)

    def _apply_in_one_transaction(self, ready: Sequence[tuple[Msg, CloudEvent[Any]]]) -> None:
        """Apply what the inbox has not seen; record each event applied by its identity and
        each one the handler refused by its stream position (`unit_of_work.InboxKey`)."""
        consumer, handed_over = self.spec.name, 0
        with self._unit_of_work() as uow, _log_context([event for _, event in ready]):
            delivered = [
                _Delivery(identity(event), at_position(message.metadata.sequence.stream), event)
                for message, event in ready
            ]
            handled = uow.handled_among(
                consumer, [key for each in delivered for key in (each.identity, each.position)]
            )
            pending = [
                each
                for each in delivered
                if each.identity not in handled and each.position not in handled
            ]
            answered: set[InboxKey] = set()
            while pending:
                # One copy of an event per call: a later copy in the batch is a duplicate
                # once the first is applied, and is evaluated afresh if it was refused,
                # unless it is the same message delivered again (answered once).
                first, later = _first_copies(pending)
                returned = self._handler([each.event for each in first], uow) or ()
                refused = {identity(event) for event in returned}
                answered.update(each.position for each in first if each.identity in refused)
                uow.mark_handled(
                    consumer,
                    [
                        each.position if each.identity in refused else each.identity
                        for each in first
                    ],
                )
                handed_over += len(first)
                pending = [
                    each
                    for each in later
                    if each.identity in refused and each.position not in answered
                ]
            uow.commit()
        if handed_over < len(ready):
            log.debug(
                "consumer.duplicates_skipped", consumer=consumer, count=len(ready) - handed_over
            )

    async def _apply_one_by_one(self, ready: list[tuple[Msg, CloudEvent[Any]]]) -> None:
        for message, event in ready:
            if self._held_back(message, event):
                await message.nak(delay=self._gate.hold_delay(event.partitionkey))  # type: ignore[arg-type]
                continue
            try:
                await asyncio.to_thread(self._apply_in_one_transaction, [(message, event)])
            except Exception as error:
                await self._failed(message, event, error)
                continue
            self._release(message, event)
            await message.ack()

    async def _failed(self, message: Msg, event: CloudEvent[Any], error: Exception) -> None:
        deliveries = message.metadata.num_delivered or 1
        context = {**event.log_context(), "consumer": self.spec.name, "deliveries": deliveries}
        if deliveries >= self.spec.max_deliver:
            log.error("consumer.giving_up", error=type(error).__name__, **context)
            await self._dead_letter(message, "handler_failed", _describe(error), event_id=event.id)
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
        if self._gate:  # one held back and dead-lettered at its delivery limit, say
            self._gate.forget(message.metadata.sequence.stream)


def _acknowledged_up_to(info: ConsumerInfo) -> int:
    """The stream sequence up to which everything was acknowledged."""
    return info.ack_floor.stream_seq if info.ack_floor else 0


class _Delivery(NamedTuple):
    identity: InboxKey  # the event's
    position: InboxKey  # the message's, in its stream
    event: CloudEvent[Any]


def _first_copies(delivered: list[_Delivery]) -> tuple[list[_Delivery], list[_Delivery]]:
    """The first delivery of each event (by identity), and the later copies."""
    seen: set[InboxKey] = set()
    first, later = [], []
    for each in delivered:
        (later if each.identity in seen else first).append(each)
        seen.add(each.identity)
    return first, later


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
    if isinstance(error, ValidationError | UnknownEventType):
        return _describe(error)
    return f"unreadable: {type(error).__name__}"  # its message might quote the input


def _describe(error: Exception) -> str:
    """A reason for operators; validation errors name fields, never echo input values."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        return f"validation failed: {problems}"[:1000]
    return f"{type(error).__name__}: {error}"[:1000]
