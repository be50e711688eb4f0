"""The delivery use cases the worker drives: claim what is due (recording an attempt in
flight before anything is sent), record each attempt's outcome and emit it."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime

import structlog

from ips_shared.contracts.events import Channel, NotificationDelivered, NotificationFailed
from ips_shared.messaging.causation import Chain, within
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import (
    ClaimDue,
    Claimed,
    Claims,
    ListNotifications,
    NextDue,
    RecordOutcome,
    ReleaseClaims,
    SentNotification,
)
from ..db import repository
from ..db.tables import DueNotification
from ..domain.delivery import (
    DeliveryPolicy,
    Failure,
    Outcome,
    Route,
    Skip,
    State,
    expired,
    retry_at,
    route,
)
from ..domain.preferences import DEFAULT
from ..domain.reasons import notification_key
from ..domain.rules import rule_for

log = structlog.get_logger(__name__)


def release_claims(message: ReleaseClaims, uow: UnitOfWork) -> int:
    released = repository.release_claims(uow.session, message.claims)
    if released:
        log.warning("delivery.resending_unsettled", notifications=released)
    return released


def claim_due(message: ClaimDue, uow: UnitOfWork, *, delivery: DeliveryPolicy) -> Claims:
    repository.release_awaiting(uow.session)
    rows = repository.due(uow.session, message.now, message.limit)
    people = {row.person_id for row in rows}
    contacts = repository.contacts_of(uow.session, people)
    chosen = repository.preferences_of_people(uow.session, people)
    claimed = []
    for row in rows:
        if row.state == State.IN_FLIGHT:  # its worker's lease ran out: it crashed, or hangs
            log.warning("delivery.resending_abandoned", notification_id=_key(row))
        if expired(row.due_at, message.now, delivery.expire_after):
            _fail(uow, row, Failure.EXPIRED, message.now)
            continue
        preferences = chosen.get(row.person_id, DEFAULT)
        if preferences.opted_out_of(may_opt_out=rule_for(row.reason).may_opt_out):
            _skip(uow, row, Skip.OPTED_OUT, message.now)
            continue
        contact = contacts.get(row.person_id)
        if contact is None:  # sent once the person's details arrive
            row.state = State.AWAITING_CONTACT
            uow.session.add(row)
            continue
        way = route(contact, sms_available=delivery.sms_available)
        if not isinstance(way, Route):
            _fail(uow, row, way, message.now)
            continue
        if way.channel == Channel.SMS:
            quiet_hours = preferences.quiet_hours_or(delivery.quiet_hours)
            allowed = quiet_hours.next_allowed(message.now)
            if allowed > message.now:  # held until morning
                row.next_attempt_at = allowed
                uow.session.add(row)
                continue
        assert row.id is not None
        row.state = State.IN_FLIGHT
        row.attempts += 1
        row.channel = way.channel
        row.last_attempt_at = message.now
        row.next_attempt_at = message.now + delivery.lease
        uow.session.add(row)
        claimed.append(
            Claimed(
                id=row.id,
                attempt=row.attempts,
                key=notification_key(row.person_id, row.reason, row.occasion),
                person_id=row.person_id,
                reason=row.reason,
                channel=way.channel,
                address=way.address,
                name=contact.name,
                language=preferences.language_for(contact),
                details=json.loads(row.details),
            )
        )
    return Claims(claimed, taken=len(rows))


def record_outcome(message: RecordOutcome, uow: UnitOfWork, *, delivery: DeliveryPolicy) -> None:
    row = repository.notification(uow.session, message.id)
    if row is None or row.state != State.IN_FLIGHT or row.attempts != message.attempt:
        return
    result = message.result
    if result.outcome == Outcome.DELIVERED:
        row.state = State.DELIVERED
        row.finished_at = message.now
        row.outcome_code = None
        uow.session.add(row)
        with _chain_of(row):
            uow.emit(
                NotificationDelivered(
                    notification_id=_key(row),
                    person_id=row.person_id,
                    reason=row.reason,
                    channel=Channel(row.channel or Channel.EMAIL),
                    delivered_at=message.now,
                ),
                partition_key=row.person_id,
            )
        return
    if result.outcome == Outcome.PERMANENT or row.attempts >= delivery.max_attempts:
        code = result.code if result.outcome == Outcome.PERMANENT else Failure.TOO_MANY_ATTEMPTS
        _fail(uow, row, code, message.now)
        return
    row.state = State.PENDING
    row.next_attempt_at = retry_at(message.now, row.attempts, delivery.retry_seconds)
    row.outcome_code = result.code
    uow.session.add(row)
    _emit_failed(uow, row, result.code, final=False)


def next_due(message: NextDue, uow: UnitOfWork) -> datetime | None:
    return repository.next_due_at(uow.session)


def list_notifications(message: ListNotifications, uow: UnitOfWork) -> list[SentNotification]:
    rows = repository.sent_notifications(
        uow.session,
        person_id=message.person_id,
        reason=message.reason,
        since=message.since,
        until=message.until,
        limit=message.limit,
    )
    return [
        SentNotification(
            notification_id=_key(row),
            person_id=row.person_id,
            reason=row.reason,
            occasion=row.occasion,
            due_at=row.due_at,
            state=row.state,
            channel=row.channel,
            attempts=row.attempts,
            last_attempt_at=row.last_attempt_at,
            finished_at=row.finished_at,
            outcome_code=row.outcome_code,
        )
        for row in rows
    ]


def _fail(uow: UnitOfWork, row: DueNotification, code: str, now: datetime) -> None:
    row.state = State.FAILED
    row.finished_at = now
    row.outcome_code = str(code)
    uow.session.add(row)
    _emit_failed(uow, row, str(code), final=True)
    log.info("delivery.failed", notification_id=_key(row), reason=row.reason, code=str(code))


def _skip(uow: UnitOfWork, row: DueNotification, why: Skip, now: datetime) -> None:
    """Settled without an attempt, on purpose: recorded (operators see it in the list),
    not emitted as a failure, as nothing failed."""
    row.state = State.SKIPPED
    row.finished_at = now
    row.outcome_code = str(why)
    uow.session.add(row)
    log.info("delivery.skipped", notification_id=_key(row), reason=row.reason, code=str(why))


def _emit_failed(uow: UnitOfWork, row: DueNotification, code: str, *, final: bool) -> None:
    with _chain_of(row):
        uow.emit(
            NotificationFailed(
                notification_id=_key(row),
                person_id=row.person_id,
                reason=row.reason,
                channel=Channel(row.channel or Channel.EMAIL),
                failure_code=code,
                final=final,
            ),
            partition_key=row.person_id,
        )


def _chain_of(row: DueNotification) -> AbstractContextManager[Chain]:
    """The outcome continues the chain of the event that made the notification due."""
    return within(Chain(row.correlation_id or row.caused_by, row.caused_by))


def _key(row: DueNotification) -> str:
    return notification_key(row.person_id, row.reason, row.occasion)
