"""Explicit-ack batch consumers with an idempotent inbox and a dead-letter stream.

A durable pull consumer hands over up to `batch_size` messages at a time. The batch is
applied in one transaction: the inbox is checked with one query, the effects and the
inbox rows commit together, then every message is acknowledged. If the transaction
fails, the batch is replayed one message per transaction so that one bad event cannot
hold back the others: a failing message is negatively acknowledged with a backoff delay
and, at its last delivery, written to the service's dead-letter stream with the reason.
A payload that fails validation is never retried: it goes to the dead-letter stream at
once.

Order: events sharing a `partitionkey` (for example a person id) are applied in stream
order. While one of them waits for redelivery, later events with the same key are held
back (negatively acknowledged until it is applied or dead-lettered). That guarantee
holds within one consumer process; replicas would need subject partitioning.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import structlog
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as ServerAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import TypeAdapter, ValidationError, WithJsonSchema

from ..contracts.envelope import MSG_ID_HEADER, CloudEvent, EnvelopeHead, EventPayload
from ..contracts.schemas import inline_refs
from ..contracts.streams import StreamSpec
from ..contracts.subjects import dead_letter_subject
from .pull import PullLoop
from .unit_of_work import UnitOfWork

log = structlog.get_logger("ips.consumer")

Apply = Callable[[UnitOfWork, Sequence[CloudEvent[Any]]], None]
"""Applies events in order inside the given unit of work (runs in a worker thread)."""


@dataclass(frozen=True)
class Refusal:
    """An event that cannot be applied as sent, to be answered to its source."""

    subject: str
    event_id: str | None
    code: str  # "invalid_payload" or "source_mismatch"
    reason: str


Refuse = Callable[[UnitOfWork, Refusal], None]
"""Records and answers a refusal inside the given unit of work (runs in a worker thread)."""

DEAD_LETTER_REASON = "Ips-Dead-Letter-Reason"
DEAD_LETTER_ERROR = "Ips-Dead-Letter-Error"
ORIGINAL_SUBJECT = "Ips-Original-Subject"
ORIGINAL_SEQUENCE = "Ips-Original-Sequence"
ORIGINAL_EVENT_ID = "Ips-Event-Id"
DELIVERIES = "Ips-Deliveries"


class UnknownEventType(ValueError):
    pass


@dataclass(frozen=True)
class ConsumerSpec:
    """What one durable consumer reads and how it retries."""

    service: str
    name: str
    stream: StreamSpec
    subject: str
    events: tuple[type[EventPayload], ...]
    batch_size: int = 200
    max_deliver: int = 5
    backoff_seconds: tuple[float, ...] = (1.0, 5.0, 15.0, 30.0, 60.0)
    ack_wait_seconds: float = 60.0
    description: str = ""
    source_must_match_subject: bool = False  # partners publish on their own subject only
    models: dict[tuple[str, int], TypeAdapter[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        adapters = {
            (model.event_type, model.schema_version): TypeAdapter(CloudEvent[model])  # type: ignore[valid-type]
            for model in self.events
        }
        object.__setattr__(self, "models", adapters)

    def backoff(self, deliveries: int) -> float:
        return self.backoff_seconds[min(deliveries, len(self.backoff_seconds)) - 1]

    def parse(self, body: bytes) -> CloudEvent[Any]:
        if len(self.models) == 1:
            # One kind of event expected: validate once, then confirm the kind (the hot path).
            [(expected, adapter)] = self.models.items()
            try:
                event: CloudEvent[Any] = adapter.validate_json(body)
            except ValidationError:
                self._known_kind(body)  # an unknown kind is the better explanation
                raise
            if (event.type, event.schemaversion) != expected:
                raise UnknownEventType(f"{event.type} v{event.schemaversion} is not consumed here")
            return event
        return self._known_kind(body).validate_json(body)

    def _known_kind(self, body: bytes) -> TypeAdapter[Any]:
        head = EnvelopeHead.model_validate_json(body)
        adapter = self.models.get((head.type, head.schemaversion))
        if adapter is None:
            raise UnknownEventType(f"{head.type} v{head.schemaversion} is not consumed here")
        return adapter

    def server_config(self) -> ConsumerConfig:
        # The server keeps redelivering (no server-side max_deliver): the consumer decides
        # when a message is dead-lettered, so nothing is dropped without a trace.
        return ConsumerConfig(
            durable_name=self.name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=ServerAckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=max(1000, self.batch_size * 4),
            filter_subject=self.subject,
        )


@dataclass
class _Blocker:
    sequence: int
    retry_at: float


class BatchConsumer:
    """Binds a `ConsumerSpec` and an `Apply` function to a broker."""

    def __init__(
        self,
        spec: ConsumerSpec,
        unit_of_work: Callable[[], UnitOfWork],
        apply: Apply,
        broker: NatsBroker,
        refuse: Refuse | None = None,
    ) -> None:
        self.spec = spec
        self._unit_of_work = unit_of_work
        self._apply = apply
        self._refuse = refuse
        self._broker = broker
        self._blocked: dict[str, _Blocker] = {}
        self._committing: asyncio.Task[None] | None = None
        self._jetstream: JetStreamContext | None = None
        self._pull: PullLoop | None = None
        self._describe()

    def _describe(self) -> None:
        """Declare the channel to FastStream for the AsyncAPI document only.

        The broker's subscribers are never started: messages are pulled by `PullLoop`.
        """
        spec = self.spec
        subscriber = self._broker.subscriber(
            spec.subject,
            stream=JStream(spec.stream.name, declare=False),
            durable=spec.name,
            pull_sub=PullSub(spec.batch_size, batch=True),
            ack_policy=AckPolicy.MANUAL,
            title=f"{spec.service}.{spec.name}",
            description=spec.description or None,
        )
        envelope = Annotated[Any, WithJsonSchema(_envelope_schema(spec.events))]

        async def described(events: list[envelope]) -> None:  # type: ignore[valid-type]
            raise NotImplementedError("described for AsyncAPI; PullLoop consumes")

        subscriber(described)

    async def start(self) -> None:
        connection = self._broker.connection
        self._jetstream = connection.jetstream()
        await self._jetstream.add_consumer(self.spec.stream.name, config=self.spec.server_config())
        self._pull = PullLoop(
            connection,
            self.spec.stream.name,
            self.spec.name,
            self.spec.batch_size,
            self.handle_batch,
        )
        await self._pull.start()

    async def stop(self) -> None:
        if self._pull is not None:
            await self._pull.stop()
        await self._previous_committed()

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
        """Parse and check; what cannot be applied is refused or dead-lettered here."""
        ready: list[tuple[Msg, CloudEvent[Any]]] = []
        for message in messages:
            if (message.metadata.num_delivered or 1) > self.spec.max_deliver * 3:
                # Delivered again and again without ever finishing (a crash mid-batch, say).
                await self._dead_letter(
                    message, "delivery_limit", "never finished processing", event_id=None
                )
                continue
            try:
                event = self.spec.parse(message.data)
            except (ValidationError, UnknownEventType, ValueError) as error:
                refusal = Refusal(
                    message.subject, _claimed_id(message.data), "invalid_payload", _describe(error)
                )
                await self._refused(message, refusal)
                continue
            if self.spec.source_must_match_subject and not _sent_on_own_subject(event, message):
                reason = f"source {event.source!r} may not publish on {message.subject}"
                await self._refused(
                    message, Refusal(message.subject, event.id, "source_mismatch", reason)
                )
                continue
            ready.append((message, event))
        return ready

    async def _commit(self, prepared: list[tuple[Msg, CloudEvent[Any]]]) -> None:
        """Apply in one transaction, then acknowledge. Never raises: what is not
        acknowledged is delivered again."""
        try:
            ready = []
            for message, event in prepared:  # after the previous batch: its failures hold keys
                if self._held_back(message, event):
                    await message.nak(delay=self._hold_delay(event))
                else:
                    ready.append((message, event))
            if not ready:
                return
            try:
                events = [event for _, event in ready]
                await asyncio.to_thread(self._apply_in_one_transaction, events)
            except Exception:
                log.info(
                    "consumer.batch_failed_replaying_singly",
                    consumer=self.spec.name,
                    size=len(ready),
                )
                await self._apply_one_by_one(ready)
                return
            for message, event in ready:
                if self._blocked:
                    self._release(event, message)
                await message.ack()
        except Exception as error:  # the connection, most likely: the server redelivers
            log.warning("consumer.commit_interrupted", error=type(error).__name__)

    def _apply_in_one_transaction(self, events: list[CloudEvent[Any]]) -> None:
        consumer = self.spec.name
        with self._unit_of_work() as uow, _log_context(events):
            applied = uow.applied_among(consumer, (event.id for event in events))
            fresh: list[CloudEvent[Any]] = []
            for event in events:
                if event.id not in applied:
                    applied.add(event.id)  # a copy later in the same batch is a duplicate too
                    fresh.append(event)
            if fresh:
                self._apply(uow, fresh)
                uow.mark_applied(consumer, [event.id for event in fresh])
            uow.commit()
        if len(fresh) < len(events):
            log.debug(
                "consumer.duplicates_skipped", consumer=consumer, count=len(events) - len(fresh)
            )

    async def _apply_one_by_one(self, ready: list[tuple[Msg, CloudEvent[Any]]]) -> None:
        for message, event in ready:
            if self._held_back(message, event):
                await message.nak(delay=self._hold_delay(event))
                continue
            try:
                await asyncio.to_thread(self._apply_in_one_transaction, [event])
            except Exception as error:
                await self._failed(message, event, error)
                continue
            self._release(event, message)
            await message.ack()

    async def _failed(self, message: Msg, event: CloudEvent[Any], error: Exception) -> None:
        deliveries = message.metadata.num_delivered or 1
        context = {**event.log_context(), "consumer": self.spec.name, "deliveries": deliveries}
        if deliveries >= self.spec.max_deliver:
            log.error("consumer.giving_up", error=type(error).__name__, **context)
            await self._dead_letter(message, "handler_failed", _describe(error), event_id=event.id)
            self._release(event, message)
            return
        delay = self.spec.backoff(deliveries)
        log.warning("consumer.retry_later", error=type(error).__name__, retry_in=delay, **context)
        if event.partitionkey is not None:
            self._blocked[event.partitionkey] = _Blocker(
                message.metadata.sequence.stream, time.monotonic() + delay
            )
        await message.nak(delay=delay)

    async def _refused(self, message: Msg, refusal: Refusal) -> None:
        """Answer the source when the service can (once per message), else dead-letter."""
        if self._refuse is None:
            await self._dead_letter(
                message, refusal.code, refusal.reason, event_id=refusal.event_id
            )
            return
        try:
            await asyncio.to_thread(self._record_refusal, message, refusal)
        except Exception as error:
            log.error(
                "consumer.refusal_failed", error=type(error).__name__, event_id=refusal.event_id
            )
            await self._dead_letter(
                message, refusal.code, refusal.reason, event_id=refusal.event_id
            )
            return
        log.info(
            "consumer.refused",
            consumer=self.spec.name,
            code=refusal.code,
            event_id=refusal.event_id,
        )
        await message.ack()

    def _record_refusal(self, message: Msg, refusal: Refusal) -> None:
        assert self._refuse is not None
        # Keyed by stream position: a redelivered message is refused once, even without an id.
        key = f"refused:{message.metadata.sequence.stream}"
        with self._unit_of_work() as uow:
            if not uow.applied_among(self.spec.name, [key]):
                self._refuse(uow, refusal)
                uow.mark_applied(self.spec.name, [key])
                uow.commit()

    # -- per-key order ------------------------------------------------------------------

    def _held_back(self, message: Msg, event: CloudEvent[Any]) -> bool:
        key = event.partitionkey
        if key is None or key not in self._blocked:
            return False
        return self._blocked[key].sequence != message.metadata.sequence.stream

    def _hold_delay(self, event: CloudEvent[Any]) -> float:
        blocker = self._blocked[event.partitionkey]  # type: ignore[index]
        return max(0.1, blocker.retry_at - time.monotonic() + 0.1)

    def _release(self, event: CloudEvent[Any], message: Msg) -> None:
        blocker = self._blocked.get(event.partitionkey or "")
        if blocker is not None and blocker.sequence == message.metadata.sequence.stream:
            del self._blocked[event.partitionkey]  # type: ignore[arg-type]

    # -- dead letters -------------------------------------------------------------------

    async def _dead_letter(
        self, message: Msg, error_code: str, reason: str, *, event_id: str | None
    ) -> None:
        sequence = message.metadata.sequence.stream
        headers = {
            MSG_ID_HEADER: f"{self.spec.name}:{sequence}",
            DEAD_LETTER_ERROR: error_code,
            DEAD_LETTER_REASON: reason,
            ORIGINAL_SUBJECT: message.subject,
            ORIGINAL_SEQUENCE: str(sequence),
            DELIVERIES: str(message.metadata.num_delivered or 1),
        }
        if event_id:
            headers[ORIGINAL_EVENT_ID] = event_id
        try:
            assert self._jetstream is not None, "the consumer was not started"
            await self._jetstream.publish(
                dead_letter_subject(self.spec.service, self.spec.name),
                message.data,
                headers=headers,
            )
        except Exception as error:
            log.error("consumer.dead_letter_failed", error=type(error).__name__, sequence=sequence)
            await message.nak(delay=self.spec.backoff(1))
            return
        log.warning(
            "consumer.dead_lettered",
            consumer=self.spec.name,
            error_code=error_code,
            event_id=event_id,
            sequence=sequence,
        )
        await message.term()


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
    except (ValueError, AttributeError):
        return None
    return claimed if isinstance(claimed, str) and 0 < len(claimed) <= 128 else None


def _envelope_schema(events: Sequence[type[EventPayload]]) -> dict[str, Any]:
    schemas = [inline_refs(CloudEvent[model].model_json_schema()) for model in events]  # type: ignore[valid-type]
    return schemas[0] if len(schemas) == 1 else {"oneOf": schemas}


def _describe(error: Exception) -> str:
    """A reason for operators; validation errors name fields, never echo input values."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        return f"validation failed: {problems}"[:1000]
    return f"{type(error).__name__}: {error}"[:1000]
