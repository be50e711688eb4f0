"""What one durable consumer reads, how it checks what arrives and how it retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import TypeAdapter, ValidationError

from ..contracts.envelope import CloudEvent, EnvelopeHead, EventPayload
from ..contracts.streams import StreamSpec, senders


class UnknownEventType(ValueError):
    pass


@dataclass(frozen=True)
class ConsumerSpec:
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
    # Sources that may send (exact, or a prefix ending in `/`); by default as the stream
    # says (`streams.senders`): whoever can publish on the subject cannot pose as another.
    senders: tuple[str, ...] = ()
    models: dict[tuple[str, int], TypeAdapter[Any]] = field(init=False, repr=False, compare=False)
    _exact_senders: frozenset[str] = field(init=False, repr=False, compare=False)
    _sender_prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        adapters = {
            (model.event_type, model.schema_version): TypeAdapter(CloudEvent[model])  # type: ignore[valid-type]
            for model in self.events
        }
        object.__setattr__(self, "models", adapters)
        allowed = self.senders or senders(self.stream, self.subject)
        object.__setattr__(self, "senders", allowed)
        object.__setattr__(
            self, "_exact_senders", frozenset(s for s in allowed if not s.endswith("/"))
        )
        object.__setattr__(self, "_sender_prefixes", tuple(s for s in allowed if s.endswith("/")))

    def backoff(self, deliveries: int) -> float:
        return self.backoff_seconds[min(deliveries, len(self.backoff_seconds)) - 1]

    def may_send(self, source: str) -> bool:
        """Whether `source` may send what this consumer reads (every message: a set look-up
        and a prefix check)."""
        return source in self._exact_senders or source.startswith(self._sender_prefixes)

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

    def server_config(self, start_at: int | None = None) -> ConsumerConfig:
        """From the start of the stream, or from stream sequence `start_at` on."""
        policy = DeliverPolicy.ALL if start_at is None else DeliverPolicy.BY_START_SEQUENCE
        # The server keeps redelivering (no server-side max_deliver): the consumer decides
        # when a message is dead-lettered, so nothing is dropped without a trace.
        return ConsumerConfig(
            durable_name=self.name,
            # Named, so that the create request names its filter in its subject: what the
            # service identity's permission pins (`contracts.permissions`).
            name=self.name,
            deliver_policy=policy,
            opt_start_seq=start_at,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=max(1000, self.batch_size * 4),
            filter_subject=self.subject,
        )
