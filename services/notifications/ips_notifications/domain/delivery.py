"""How a due notification reaches a person: by which channel, when, and what an attempt's
outcome means for the next one. Pure: the time is always given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ips_shared.contracts.events import Channel, Language


class State(StrEnum):
    PENDING = "pending"  # due at `next_attempt_at`
    AWAITING_CONTACT = "awaiting_contact"  # the person's details have not arrived yet
    IN_FLIGHT = "in_flight"  # an attempt recorded before sending, its outcome not yet; its
    # worker's lease runs to `next_attempt_at`, after which it is claimed again
    DELIVERED = "delivered"
    FAILED = "failed"  # final
    SKIPPED = "skipped"  # final: not sent on purpose (`Skip`)


class Failure(StrEnum):
    """Why an attempt failed (`failure_code` of `NotificationFailed`). Codes only: never an
    address or the server's text."""

    NO_ADDRESS = "no_address"
    CONTACT_ERASED = "contact_erased"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"


class Skip(StrEnum):
    """Why a due notification was settled without an attempt (`outcome_code` of a
    `skipped` one; no `NotificationFailed` is emitted: nothing failed)."""

    OPTED_OUT = "opted_out"  # the person opted out of its reason
    RESCHEDULED = "rescheduled"  # a reminder for a training date no longer scheduled
    WITHDRAWN = "withdrawn"  # a reminder for a cohort the person's application left


@dataclass(frozen=True)
class Contact:
    person_id: str
    name: str = ""
    email: str | None = None
    phone: str | None = None
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    language: Language = Language.ENGLISH
    erased: bool = False


@dataclass(frozen=True)
class Route:
    channel: Channel
    address: str


def route(contact: Contact, sms_available: bool = True) -> Route | Failure:
    """A text only to someone who chose texts and consented to them (and has a phone);
    everyone else by email. No address for the channel: a permanent failure."""
    if contact.erased:
        return Failure.CONTACT_ERASED
    wants_text = contact.preferred_channel == Channel.SMS and contact.sms_consent
    if wants_text and contact.phone and sms_available:
        return Route(Channel.SMS, contact.phone)
    if contact.email:
        return Route(Channel.EMAIL, contact.email)
    return Failure.NO_ADDRESS


@dataclass(frozen=True)
class QuietHours:
    """No texts from `start` to `end` (local time in `zone`); the span may cross midnight."""

    zone: ZoneInfo
    start: time = time(21, 0)
    end: time = time(8, 0)

    def is_quiet(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself outside quiet hours, else when they end (in the zone's local
        time, whatever the offset that day)."""
        if not self.is_quiet(moment):
            return moment
        local = moment.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        return end


class Outcome(StrEnum):
    DELIVERED = "delivered"
    TRANSIENT = "transient"  # try again later (4xx SMTP, connection refused, 503)
    PERMANENT = "permanent"  # final (5xx SMTP, 4xx from the text provider)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    code: str = ""  # e.g. "smtp_451", "connection_refused", "http_400"


def retry_at(now: datetime, attempts: int, delays: tuple[float, ...]) -> datetime:
    """When to try again after the `attempts`-th attempt failed for a passing reason."""
    delay = delays[min(attempts, len(delays)) - 1]
    return now + timedelta(seconds=delay)


def expired(due_at: datetime, now: datetime, after: timedelta) -> bool:
    return now - due_at > after


@dataclass(frozen=True)
class DeliveryPolicy:
    """The delivery settings the worker's use cases apply."""

    quiet_hours: QuietHours
    retry_seconds: tuple[float, ...] = (60.0, 300.0, 900.0, 3600.0, 14400.0)
    max_attempts: int = 8
    expire_after: timedelta = timedelta(days=14)
    sms_available: bool = True
    # How long an attempt in flight belongs to the worker that claimed it: after that it is
    # taken for abandoned (its worker crashed) and claimed again. Longer than a batch takes.
    lease: timedelta = timedelta(minutes=15)
