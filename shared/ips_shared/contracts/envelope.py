"""CloudEvents 1.0 structured-mode JSON envelope, generic over the event payload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
JSON = "application/json"
MSG_ID_HEADER = "Nats-Msg-Id"


class EventPayload(BaseModel):
    """Base of every event's `data`.

    Each subclass names its CloudEvents `type`, its schema version and its NATS subject.
    Unknown fields are ignored so that a producer may add optional fields without
    breaking older consumers; a breaking change is a new `schema_version`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    subject: ClassVar[str]

    def subject_for(self, source: str) -> str:
        """The subject this event is published on when sent by `source`."""
        if "*" in self.subject:
            raise ValueError(f"{self.event_type} needs an explicit subject ({self.subject})")
        return self.subject


DataT = TypeVar("DataT", bound=EventPayload)
OPTIONAL_ATTRIBUTES = ("correlationid", "causationid", "partitionkey")


def new_event_id() -> str:
    return str(uuid.uuid4())


class CloudEvent(BaseModel, Generic[DataT]):
    """One event on the wire.

    `schemaversion`, `correlationid`, `causationid` and `partitionkey` are CloudEvents
    extension attributes: the payload's schema version, the id tying a chain of events to
    the request that started it, the id of the event whose application emitted this one
    (absent when a request or the calendar did), and the key whose events must be applied
    in order (for example a person id).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"]  # required on the wire: without it a body is no CloudEvent
    id: str = Field(default_factory=new_event_id, min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(min_length=1)
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = JSON
    schemaversion: int = Field(default=1, ge=1)
    correlationid: str | None = Field(default=None, max_length=128)
    causationid: str | None = Field(default=None, max_length=128)
    partitionkey: str | None = Field(default=None, max_length=128)
    data: DataT

    @classmethod
    def wrap(
        cls,
        data: DataT,
        *,
        source: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        partition_key: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent[DataT]:
        """Wrap a payload; a new chain starts its correlation id at the event id."""
        event_id = event_id or new_event_id()
        extra: dict[str, Any] = {}
        if time is not None:
            extra["time"] = time
        return CloudEvent[type(data)](  # type: ignore[misc]
            specversion=SPEC_VERSION,
            id=event_id,
            source=source,
            type=data.event_type,
            schemaversion=data.schema_version,
            correlationid=correlation_id or event_id,
            causationid=causation_id,
            partitionkey=partition_key,
            data=data,
            **extra,
        )

    @property
    def nats_subject(self) -> str:
        return self.data.subject_for(self.source)

    def to_json(self) -> bytes:
        """Optional envelope attributes are left out when unset; `data` is kept whole."""
        unset = {name for name in OPTIONAL_ATTRIBUTES if getattr(self, name) is None}
        return self.model_dump_json(exclude=unset).encode()

    def log_context(self) -> dict[str, str | None]:
        """What a log line about this event may carry: ids, never payload."""
        context = {
            "event_id": self.id,
            "event_type": self.type,
            "correlation_id": self.correlationid,
        }
        if self.causationid:
            context["causation_id"] = self.causationid
        return context


class EnvelopeHead(BaseModel):
    """The envelope without its payload: read first to pick the payload model."""

    model_config = ConfigDict(extra="ignore")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    schemaversion: int = 1
    correlationid: str | None = None
    causationid: str | None = None
    partitionkey: str | None = None
