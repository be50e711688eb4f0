"""Notifications' use cases as messages: a `Command` changes state (the bus commits it), a
`Query` only reads. Times are given by the caller (the delivery worker's clock)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ips_shared.contracts.events import Channel, Language
from ips_shared.messaging.bus import Command, Query

from .domain.delivery import Result
from .domain.preferences import Preferences


@dataclass(frozen=True)
class Claimed:
    """One attempt, recorded as in flight: what the worker needs to render and send it.
    Held in memory only (the address and the message are never stored or logged)."""

    id: int
    attempt: int  # which attempt this is: its outcome is recorded only if still the last
    key: str
    person_id: str
    reason: str
    channel: Channel
    address: str
    name: str
    language: Language
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Claims:
    attempts: list[Claimed]
    taken: int  # due notifications looked at: those settled without an attempt too


@dataclass(frozen=True)
class ClaimDue(Command[Claims]):
    """Take up to `limit` due notifications: each is either recorded as an attempt in
    flight (returned), or settled without one (waiting for contact details, held past
    quiet hours, given up)."""

    now: datetime
    limit: int


@dataclass(frozen=True)
class RecordOutcome(Command[None]):
    """The outcome of attempt `attempt`; ignored if the notification is no longer in flight
    by that attempt (its lease ran out and another worker took it)."""

    id: int
    attempt: int
    result: Result
    now: datetime


@dataclass(frozen=True)
class ReleaseClaims(Command[int]):
    """Attempts this worker claimed and could not record an outcome for (a pass failed):
    due again at once, not only when their lease runs out. Returns how many."""

    claims: tuple[tuple[int, int], ...]  # (id, attempt)


@dataclass(frozen=True)
class NextDue(Query[datetime | None]):
    """When the earliest pending notification falls due."""


@dataclass(frozen=True)
class SentNotification:
    notification_id: str
    person_id: str
    reason: str
    occasion: str
    due_at: datetime
    state: str
    channel: str | None
    attempts: int
    last_attempt_at: datetime | None
    finished_at: datetime | None
    outcome_code: str | None


@dataclass(frozen=True)
class ListNotifications(Query[list[SentNotification]]):
    person_id: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500


@dataclass(frozen=True)
class GetPreferences(Query[Preferences]):
    """A known person's preferences (the defaults if they chose none); else `UnknownPerson`."""

    person_id: str


@dataclass(frozen=True)
class SetPreferences(Command[Preferences]):
    """Replace a known person's preferences; `by` names who set them (a token's name)."""

    person_id: str
    preferences: Preferences
    by: str
    at: datetime


@dataclass(frozen=True)
class ScheduleReminders(Command[int]):
    """Make due every reminder whose date has come (`domain.reminders`,
    `domain.deadlines`), once each. Returns how many are new."""

    now: datetime
