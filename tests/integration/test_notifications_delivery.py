"""Notifications end to end: events on a real nats-server, the contact book, a real SMTP
server (`mail_sink`) and text endpoint (`text_sink`), both databases.

Each notifying event gives its message once (Message-ID from the notification's identity),
events that must not notify give none, a redelivered or re-sent event gives no second
message, a contact arriving after the event releases its message, a 451 is retried and a
550 is final, an attempt a crash left in flight is sent again with the same Message-ID,
texts go only with consent and never in quiet hours, and operators list what was sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from nats.js import JetStreamContext
from sqlmodel import Session

from ips_notifications.bootstrap import Notifications, bootstrap, system_clock
from ips_notifications.channels import Outgoing
from ips_notifications.channels.email import EmailChannel
from ips_notifications.db import tables
from ips_notifications.db.tables import AuditEntry, Contact, DueNotification
from ips_notifications.domain.reasons import message_id, notification_key
from ips_notifications.settings import NotificationsSettings
from ips_shared.auth import ApiToken, Role
from ips_shared.contracts.envelope import CloudEvent, EventPayload
from ips_shared.contracts.events import (
    ApplicationAccepted,
    ApplicationDeclined,
    ApplicationSubmitted,
    ApplicationWaitlisted,
    ApplicationWithdrawn,
    CertificationStatus,
    CertificationStatusChanged,
    Channel,
    CohortScheduled,
    HoursCategory,
    HoursVoided,
    Language,
    PeerSupport101Completed,
    PersonContactChanged,
    ReviewCompleted,
    ReviewDue,
    TrainingCompleted,
    TrainingDayAttended,
    Transport,
)
from ips_shared.db import create_db_engine

from .harness import eventually, migrate_service, publish, rows

MAIL_FROM = "IPS Peer Support <no-reply@ips.example.org>"
ENROLLMENT = "service/enrollment"
CERTIFICATION = "service/certification"
NEW_YORK = ZoneInfo("America/New_York")
OPERATOR, PERSON = "operator-token-for-tests", "person-token-for-tests"


def _digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


TOKENS = {
    "ops": ApiToken(sha256=_digest(OPERATOR), role=Role.OPERATOR),
    "peer": ApiToken(sha256=_digest(PERSON), role=Role.PERSON, person_id="p-1"),
}


class Clock:
    """Real time, moved to another moment: it goes on ticking from there."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    @property
    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @now.setter
    def now(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def notifications(
    database_url: str,
    nats_url: str,
    mail_sink: Any,
    *,
    text_sink: Any = None,
    clock: Callable[[], datetime] = system_clock,
    migrate: bool = True,
) -> AsyncIterator[tuple[Notifications, httpx.AsyncClient]]:
    if migrate:
        migrate_service(database_url, tables)
    service = bootstrap(
        NotificationsSettings(
            database_url=database_url,
            nats_url=nats_url,
            relay_poll_seconds=0.1,
            consumer_backoff_seconds=(0.2,),
            smtp_host=mail_sink.host,
            smtp_port=mail_sink.port,
            mail_from=MAIL_FROM,
            sms_url=text_sink.url if text_sink else None,
            delivery_poll_seconds=0.5,
            delivery_retry_seconds=(0.3,),
            delivery_max_attempts=4,
            api_tokens=TOKENS,
        ),
        clock=clock,
    )
    app = service.http_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as c:
            yield service, c


def wrap(data: EventPayload, source: str, **kwargs: Any) -> CloudEvent[Any]:
    person = getattr(data, "person_id", None)
    return CloudEvent.wrap(data, source=source, partition_key=person, **kwargs)


def contact(person: str = "p-1", **fields: Any) -> CloudEvent[Any]:
    values: dict[str, Any] = {"name": "Sam Rivera", "email": f"{person}@example.org"} | fields
    return wrap(PersonContactChanged(person_id=person, **values), ENROLLMENT)


def status(new: CertificationStatus, reason_code: str, on: date, **extra: Any) -> Any:
    return CertificationStatusChanged(
        person_id="p-1",
        old_status=None,
        new_status=new,
        reason_code=reason_code,
        effective_date=on,
        policy_version="2026-1",
        **extra,
    )


def notifying_events(person: str = "p-1") -> list[tuple[EventPayload, str, str]]:
    """(payload, source, expected reason) for every reason."""
    return [
        (
            PeerSupport101Completed(
                person_id=person, session_id="s-1", completed_on=date(2027, 1, 5)
            ),
            ENROLLMENT,
            "ps101_completed",
        ),
        (
            ApplicationSubmitted(
                application_id="a-1",
                person_id=person,
                intake="2027-spring",
                submitted_at=datetime(2027, 1, 6, tzinfo=UTC),
                transport=Transport.OWN_CAR,
            ),
            ENROLLMENT,
            "application_received",
        ),
        (
            ApplicationWaitlisted(
                application_id="a-1", person_id=person, intake="2027-spring", position=2
            ),
            ENROLLMENT,
            "application_waitlisted",
        ),
        (
            ApplicationAccepted(
                application_id="a-1",
                person_id=person,
                intake="2027-spring",
                cohort_id="2027-spring",
            ),
            ENROLLMENT,
            "application_accepted",
        ),
        (
            ApplicationDeclined(
                application_id="a-2", person_id=person, intake="2027-fall", reason_code="secret_x"
            ),
            ENROLLMENT,
            "application_declined",
        ),
        (
            ApplicationWithdrawn(application_id="a-3", person_id=person, intake="2027-fall"),
            ENROLLMENT,
            "application_withdrawn",
        ),
        (
            TrainingCompleted(
                person_id=person, cohort_id="2027-spring", completed_on=date(2027, 4, 1)
            ),
            ENROLLMENT,
            "training_completed",
        ),
        (
            status(
                CertificationStatus.CERTIFIED,
                "first_year_met",
                date(2028, 4, 1),
                certificate_number="ME-2028-0007",
            ),
            CERTIFICATION,
            "certified",
        ),
        (ReviewDue(person_id=person, due_date=date(2030, 4, 1)), CERTIFICATION, "review_due"),
        (
            status(CertificationStatus.AT_RISK, "hours_short_near_year_end", date(2029, 2, 1)),
            CERTIFICATION,
            "at_risk",
        ),
        (
            status(CertificationStatus.LAPSED, "year_ended_unmet", date(2029, 5, 1)),
            CERTIFICATION,
            "lapsed",
        ),
        (
            status(CertificationStatus.CERTIFIED, "reinstated", date(2029, 6, 1)),
            CERTIFICATION,
            "reinstated",
        ),
        (
            HoursVoided(
                person_id=person,
                entry_event_id="h-1",
                category=HoursCategory.SKILL_BUILDING,
                hours=Decimal("2.50"),
                activity_date=date(2029, 7, 1),
                voided_on=date(2029, 7, 3),
            ),
            CERTIFICATION,
            "hours_voided",
        ),
    ]


def silent_events(person: str = "p-1") -> list[tuple[EventPayload, str]]:
    return [
        (
            TrainingDayAttended(
                person_id=person, cohort_id="2027-spring", day=1, attended_on=date(2027, 3, 1)
            ),
            ENROLLMENT,
        ),
        (
            CohortScheduled.model_validate(
                {
                    "cohort_id": "2027-spring",
                    "place": "Augusta",
                    "days": [
                        {
                            "day": 1,
                            "starts_at": "2027-03-01T09:00:00-05:00",
                            "ends_at": "2027-03-01T16:00:00-05:00",
                        }
                    ],
                }
            ),
            ENROLLMENT,
        ),
        (
            ReviewCompleted(person_id=person, reviewed_on=date(2029, 1, 1), outcome="affirmed"),
            CERTIFICATION,
        ),
        (
            status(CertificationStatus.TRAINED, "training_completed", date(2027, 4, 1)),
            CERTIFICATION,
        ),
        (
            status(CertificationStatus.SUSPENDED, "operator_suspended", date(2029, 7, 1)),
            CERTIFICATION,
        ),
        (
            status(CertificationStatus.CERTIFIED, "requirements_met", date(2029, 2, 20)),
            CERTIFICATION,
        ),
    ]


async def outcomes(js: JetStreamContext) -> list[dict[str, Any]]:
    """Every event notifications published, in order."""
    info = await js.stream_info("NOTIFICATIONS")
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        found.append(json.loads((await js.get_msg("NOTIFICATIONS", sequence)).data))
    return found


async def _count(found: Any, expected: int) -> bool:
    return len(await found) >= expected


def notices(database_url: str) -> list[DueNotification]:
    return rows(database_url, DueNotification)


def header(message: EmailMessage, name: str) -> str:
    return str(message[name])


# -- P1 and P2: the right message for each event, once --------------------------------


async def test_each_event_gives_its_message_once_and_silent_events_none(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    expected = notifying_events()
    async with notifications(database_url, nats_url, mail_sink) as (_service, _client):
        await publish(jetstream, contact(language=Language.ENGLISH))
        sent = []
        for payload, source, _reason in expected:
            event = wrap(payload, source)
            sent.append(event)
            await publish(jetstream, event)
        for payload, source in silent_events():
            await publish(jetstream, wrap(payload, source))

        messages = await asyncio.to_thread(mail_sink.wait_for_messages, len(expected), 20.0)
        await eventually(
            lambda: (
                len([n for n in notices(database_url) if n.state == "delivered"]) == len(expected)
            )
        )

        # Re-sent: the same events again (as new messages: past the duplicate window), and
        # the same occasions under new event ids. Nothing more is sent.
        for event in sent:
            await publish(jetstream, event, with_msg_id=False)
        for payload, source, _reason in expected:
            await publish(jetstream, wrap(payload, source))
        await asyncio.sleep(2.0)
        assert len(mail_sink.messages()) == len(expected)
        assert len(notices(database_url)) == len(expected)

        await eventually(lambda: _count(outcomes(jetstream), len(expected)))
        published = await outcomes(jetstream)

    by_id = {header(m, "Message-ID"): m for m in messages}
    assert len(by_id) == len(expected)
    for _payload, _source, reason in expected:
        occasion = next(n.occasion for n in notices(database_url) if n.reason == reason)
        key = notification_key("p-1", reason, occasion)
        message = by_id[message_id(key, MAIL_FROM)]
        assert header(message, "To") == "p-1@example.org"
        assert header(message, "From") == MAIL_FROM
        body = message.get_content()
        assert body.startswith("Hello Sam Rivera,")
        assert "secret_x" not in body and "year_ended_unmet" not in body
    certified = by_id[message_id(notification_key("p-1", "certified", "first"), MAIL_FROM)]
    assert "ME-2028-0007" in certified.get_content()
    received = next(m for m in messages if "received your application" in header(m, "Subject"))
    assert "2027-spring" in received.get_content()

    delivered = [e for e in published if e["type"] == "NotificationDelivered"]
    assert sorted(e["data"]["reason"] for e in delivered) == sorted(r for _, _, r in expected)
    assert {e["data"]["channel"] for e in delivered} == {"email"}
    assert not [e for e in published if e["type"] == "NotificationFailed"]
    # Each outcome continues the chain of the event that made it due.
    causes = {n.caused_by for n in notices(database_url)}
    assert {e["causationid"] for e in delivered} == causes


async def test_a_message_is_in_the_language_of_the_contact(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    async with notifications(database_url, nats_url, mail_sink):
        await publish(jetstream, contact(language=Language.SPANISH, name="Ana"))
        await publish(
            jetstream, wrap(ReviewDue(person_id="p-1", due_date=date(2030, 4, 1)), CERTIFICATION)
        )
        [message] = await asyncio.to_thread(mail_sink.wait_for_messages, 1)
    assert message.get_content().startswith("Hola Ana:")
    assert "2030-04-01" in message.get_content()


async def test_a_notification_waits_for_contact_details_that_arrive_later(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    payload, source, _ = notifying_events("p-late")[1]
    async with notifications(database_url, nats_url, mail_sink):
        await publish(jetstream, wrap(payload, source))
        await eventually(lambda: [n.state for n in notices(database_url)] == ["awaiting_contact"])
        await asyncio.sleep(1.0)
        assert mail_sink.messages() == []

        await publish(jetstream, contact("p-late"))
        [message] = await asyncio.to_thread(mail_sink.wait_for_messages, 1)
        assert header(message, "To") == "p-late@example.org"
        await eventually(lambda: [n.state for n in notices(database_url)] == ["delivered"])


# -- failures ---------------------------------------------------------------------------


async def test_a_temporary_refusal_is_retried_and_delivered_once(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    mail_sink.fail_next(1, 451)
    payload, source, _ = notifying_events()[1]
    async with notifications(database_url, nats_url, mail_sink):
        await publish(jetstream, contact())
        await publish(jetstream, wrap(payload, source))
        await eventually(lambda: [n.state for n in notices(database_url)] == ["delivered"])
        await asyncio.sleep(0.5)
        await eventually(lambda: _count(outcomes(jetstream), 2))
        published = await outcomes(jetstream)
    assert len(mail_sink.messages()) == 1
    [notice] = notices(database_url)
    assert notice.attempts == 2
    assert [(e["type"], e["data"].get("final")) for e in published] == [
        ("NotificationFailed", False),
        ("NotificationDelivered", None),
    ]
    assert published[0]["data"]["failure_code"] == "smtp_451"


async def test_a_permanent_refusal_is_final(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    mail_sink.fail_all(550)
    payload, source, _ = notifying_events()[1]
    async with notifications(database_url, nats_url, mail_sink):
        await publish(jetstream, contact())
        await publish(jetstream, wrap(payload, source))
        await eventually(lambda: [n.state for n in notices(database_url)] == ["failed"])
        await asyncio.sleep(1.0)
        await eventually(lambda: _count(outcomes(jetstream), 1))
        published = await outcomes(jetstream)
    assert mail_sink.messages() == []
    [notice] = notices(database_url)
    assert (notice.attempts, notice.outcome_code) == (1, "smtp_550")
    [failed] = published
    assert failed["type"] == "NotificationFailed"
    assert failed["data"]["final"] is True and failed["data"]["failure_code"] == "smtp_550"


async def test_an_unreachable_server_is_retried_until_it_answers(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    mail_sink.stop()  # connection refused
    payload, source, _ = notifying_events()[1]
    async with notifications(database_url, nats_url, mail_sink):
        await publish(jetstream, contact())
        await publish(jetstream, wrap(payload, source))
        await eventually(lambda: any(n.attempts >= 1 for n in notices(database_url)))
        [notice] = notices(database_url)
        assert notice.state in ("pending", "in_flight")
        mail_sink.start()
        await eventually(lambda: [n.state for n in notices(database_url)] == ["delivered"])
    assert len(mail_sink.messages()) == 1


async def test_no_address_and_erased_details_fail_for_good(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    async with notifications(database_url, nats_url, mail_sink):
        await publish(jetstream, contact("p-none", email=None))
        await publish(jetstream, contact("p-gone"))
        await publish(jetstream, contact("p-gone", erased=True, name="", email=None))
        await eventually(
            lambda: (
                {c.person_id: c.erased for c in rows(database_url, Contact)}
                == {"p-none": False, "p-gone": True}
            )
        )
        for person in ("p-none", "p-gone"):
            payload, source, _ = notifying_events(person)[0]
            await publish(jetstream, wrap(payload, source))
        await eventually(lambda: sorted(n.state for n in notices(database_url)) == ["failed"] * 2)
        await asyncio.sleep(0.5)
        await eventually(lambda: _count(outcomes(jetstream), 2))
        published = await outcomes(jetstream)
    assert mail_sink.messages() == []
    codes = {n.person_id: n.outcome_code for n in notices(database_url)}
    assert codes == {"p-none": "no_address", "p-gone": "contact_erased"}
    assert all(e["data"]["final"] for e in published)
    gone = next(c for c in rows(database_url, Contact) if c.person_id == "p-gone")
    assert (gone.erased, gone.name, gone.email, gone.phone) == (True, "", None, None)


# -- crashes ----------------------------------------------------------------------------


def crashed_attempt(database_url: str, now: datetime) -> DueNotification:
    """What a crash leaves after an attempt was recorded in flight: the row, as the worker
    wrote it before sending."""
    migrate_service(database_url, tables)
    engine = create_db_engine(database_url)
    row = DueNotification(
        person_id="p-1",
        reason="application_received",
        occasion="a-1",
        caused_by="e-1",
        due_at=now,
        correlation_id="e-1",
        details=json.dumps({"intake": "2027-spring"}),
        state="in_flight",
        next_attempt_at=now,
        attempts=1,
        channel="email",
        last_attempt_at=now,
    )
    with Session(engine) as session:
        session.add(
            Contact(
                person_id="p-1",
                name="Sam",
                email="p-1@example.org",
                changed_at=now,
                event_id="c-1",
            )
        )
        session.add(row)
        session.commit()
        session.refresh(row)
    engine.dispose()
    return row


@pytest.mark.parametrize("server_took_it", [False, True])
async def test_an_attempt_left_in_flight_is_sent_again_with_the_same_message_id(
    jetstream: JetStreamContext,
    database_url: str,
    nats_url: str,
    mail_sink: Any,
    server_took_it: bool,
) -> None:
    now = datetime.now(UTC)
    crashed_attempt(database_url, now)
    key = notification_key("p-1", "application_received", "a-1")
    if server_took_it:  # the crash came after the server accepted the first attempt
        channel = EmailChannel(mail_sink.host, mail_sink.port, MAIL_FROM)
        await channel.send(Outgoing(key, "p-1@example.org", "first attempt", "body"))
    async with notifications(database_url, nats_url, mail_sink, migrate=False):
        await eventually(lambda: [n.state for n in notices(database_url)] == ["delivered"])
        await eventually(lambda: _count(outcomes(jetstream), 1))
        published = await outcomes(jetstream)
    messages = mail_sink.messages()
    assert len(messages) == (2 if server_took_it else 1)  # a second copy, never none
    assert {header(m, "Message-ID") for m in messages} == {message_id(key, MAIL_FROM)}
    [notice] = notices(database_url)
    assert notice.attempts == 2
    [delivered] = published
    assert delivered["type"] == "NotificationDelivered"
    assert delivered["data"]["notification_id"] == key


# -- P3: texts ---------------------------------------------------------------------------


def next_local(now: datetime, at: time) -> datetime:
    local = now.astimezone(NEW_YORK)
    moment = datetime.combine(local.date(), at, tzinfo=NEW_YORK)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=NEW_YORK)
    return moment.astimezone(UTC)


async def test_texts_go_with_consent_only_and_wait_out_quiet_hours(
    jetstream: JetStreamContext,
    database_url: str,
    nats_url: str,
    mail_sink: Any,
    text_sink: Any,
) -> None:
    clock = Clock(next_local(datetime.now(UTC), time(22, 0)))
    texting = {"phone": "+12075550100", "preferred_channel": Channel.SMS}
    async with notifications(
        database_url, nats_url, mail_sink, text_sink=text_sink, clock=clock
    ) as (service, _):
        await publish(jetstream, contact("p-text", sms_consent=True, **texting))
        await publish(jetstream, contact("p-no-consent", sms_consent=False, **texting))
        for person in ("p-text", "p-no-consent"):
            payload, source, _ = notifying_events(person)[1]
            await publish(jetstream, wrap(payload, source))

        # No consent: by email at once. Consent, at 22:00: held until 08:00.
        [email] = await asyncio.to_thread(mail_sink.wait_for_messages, 1)
        assert header(email, "To") == "p-no-consent@example.org"
        morning = next_local(clock.now, time(8, 0))

        def held() -> bool:
            texts = [n for n in notices(database_url) if n.person_id == "p-text"]
            return bool(texts) and texts[0].next_attempt_at == morning

        await eventually(held)
        await asyncio.sleep(1.0)
        assert text_sink.messages() == []

        clock.now = morning
        service.delivery.wake()
        [text] = await asyncio.to_thread(text_sink.wait_for_messages, 1)
        await eventually(
            lambda: (
                {n.person_id: n.state for n in notices(database_url)}
                == {"p-text": "delivered", "p-no-consent": "delivered"}
            )
        )
        await eventually(lambda: _count(outcomes(jetstream), 2))
        published = await outcomes(jetstream)
    assert text["to"] == "+12075550100"
    assert "2027-spring" in text["body"] and len(text["body"]) <= 320
    assert "Hello" not in text["body"]  # the short text, not the email
    channels = {e["data"]["person_id"]: e["data"]["channel"] for e in published}
    assert channels == {"p-text": "sms", "p-no-consent": "email"}
    assert len(mail_sink.messages()) == 1


async def test_a_text_refused_for_now_is_retried_and_one_refused_for_good_fails(
    jetstream: JetStreamContext,
    database_url: str,
    nats_url: str,
    mail_sink: Any,
    text_sink: Any,
) -> None:
    clock = Clock(next_local(datetime.now(UTC), time(12, 0)))
    texting = {"phone": "+12075550100", "preferred_channel": Channel.SMS, "sms_consent": True}
    text_sink.fail_next(1, 503)
    async with notifications(database_url, nats_url, mail_sink, text_sink=text_sink, clock=clock):
        await publish(jetstream, contact("p-1", **texting))
        payload, source, _ = notifying_events("p-1")[1]
        await publish(jetstream, wrap(payload, source))
        await eventually(lambda: [n.state for n in notices(database_url)] == ["delivered"])
        assert len(text_sink.messages()) == 1

        text_sink.fail_all(400)
        payload, source, _ = notifying_events("p-1")[0]
        await publish(jetstream, wrap(payload, source))
        await eventually(lambda: "failed" in {n.state for n in notices(database_url)})
    failed = next(n for n in notices(database_url) if n.state == "failed")
    assert (failed.attempts, failed.outcome_code, failed.channel) == (1, "http_400", "sms")
    assert len(text_sink.messages()) == 1


# -- P4: operators list what was sent ----------------------------------------------------


async def test_operators_list_what_was_sent_without_bodies_or_addresses(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    async with notifications(database_url, nats_url, mail_sink) as (_service, client):
        await publish(jetstream, contact())
        await publish(jetstream, contact("p-2"))
        for person in ("p-1", "p-2"):
            for payload, source, _ in notifying_events(person)[:2]:
                await publish(jetstream, wrap(payload, source))
        await eventually(lambda: [n.state for n in notices(database_url)].count("delivered") == 4)
        operator = {"authorization": f"Bearer {OPERATOR}"}
        everything = await client.get("/notifications", headers=operator)
        mine = await client.get(
            "/notifications",
            params={"person_id": "p-1", "reason": "application_received"},
            headers=operator,
        )
        later = await client.get(
            "/notifications",
            params={"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            headers=operator,
        )
        as_person = await client.get(
            "/notifications", headers={"authorization": f"Bearer {PERSON}"}
        )
        anonymous = await client.get("/notifications")
        bad_reason = await client.get("/notifications", params={"reason": "x"}, headers=operator)

    assert everything.status_code == 200 and len(everything.json()) == 4
    [entry] = mine.json()
    assert entry["person_id"] == "p-1" and entry["reason"] == "application_received"
    assert (entry["state"], entry["channel"], entry["attempts"]) == ("delivered", "email", 1)
    assert entry["notification_id"] == notification_key("p-1", "application_received", "a-1")
    assert entry["finished_at"] is not None
    assert later.json() == []
    text = everything.text
    assert "@example.org" not in text and "Hello" not in text and "2027-spring" not in text
    assert (as_person.status_code, anonymous.status_code, bad_reason.status_code) == (403, 401, 422)
    await eventually(lambda: len(rows(database_url, AuditEntry)) >= 5)
    trail = {(entry.actor, entry.status) for entry in rows(database_url, AuditEntry)}
    assert {("ops", 200), ("peer", 403), ("anonymous", 401)} <= trail
