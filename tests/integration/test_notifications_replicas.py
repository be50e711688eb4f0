"""Two replicas of notifications on one database and one set of durable consumers, a real
nats-server and SMTP server (`mail_sink`), both databases: every notification, those the
events make due and the reminders both schedulers find, reaches its person once.

And the lease that lets replicas share the delivery work: an attempt another worker holds
is left to it until its lease runs out, then sent again with the same Message-ID; the
outcome of an attempt whose lease ran out (a worker that hung) is not recorded over the
newer one."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, time, timedelta
from typing import Any

from nats.js import JetStreamContext
from sqlmodel import Session

from ips_notifications.commands import RecordOutcome
from ips_notifications.db.tables import DueNotification
from ips_notifications.domain.delivery import Outcome, Result
from ips_notifications.domain.reasons import message_id, notification_key
from ips_shared.contracts.events import ApplicationSubmitted, Transport
from ips_shared.db import create_db_engine

from .harness import eventually, publish
from .test_notifications_delivery import (
    ENROLLMENT,
    MAIL_FROM,
    Clock,
    contact,
    crashed_attempt,
    header,
    next_local,
    notices,
    notifications,
    wrap,
)
from .test_notifications_reminders import accepted, local, schedule

PEOPLE = 24


def submitted(person: str, application: str) -> Any:
    return wrap(
        ApplicationSubmitted(
            application_id=application,
            person_id=person,
            intake="2027-spring",
            submitted_at=datetime(2027, 1, 6, tzinfo=UTC),
            transport=Transport.OWN_CAR,
        ),
        ENROLLMENT,
    )


async def test_two_replicas_send_each_notification_once(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    start = next_local(datetime.now(UTC), time(12, 0))  # ahead of the events' real times
    clock = Clock(start)
    people = [f"p-{number:02d}" for number in range(PEOPLE)]
    async with AsyncExitStack() as stack:
        replicas = [
            (await stack.enter_async_context(replica))[0]
            for replica in (
                notifications(database_url, nats_url, mail_sink, clock=clock),
                notifications(database_url, nats_url, mail_sink, clock=clock, migrate=False),
            )
        ]
        await publish(jetstream, schedule("c-1", local(start, time(9, 0), 2)))
        for number, person in enumerate(people):
            await publish(jetstream, contact(person))
            await publish(jetstream, submitted(person, f"a-{number}"))
            await publish(jetstream, accepted(person, "c-1", f"a-{number}"))
        await eventually(lambda: len(mail_sink.messages()) >= 2 * PEOPLE, timeout=30.0)

        # The day before the training day: both schedulers look, again and again.
        clock.now = local(start, time(0, 5), 1)
        for _ in range(4):
            for replica in replicas:
                replica.reminders.wake()
            await asyncio.sleep(0.2)
        await eventually(lambda: len(mail_sink.messages()) >= 3 * PEOPLE, timeout=30.0)
        await eventually(
            lambda: Counter(n.state for n in notices(database_url)) == {"delivered": 3 * PEOPLE}
        )
        await asyncio.sleep(1.0)  # time for a second copy to show, were one sent

    received = Counter(header(m, "Message-ID") for m in mail_sink.messages())
    expected = {
        message_id(notification_key(n.person_id, n.reason, n.occasion), MAIL_FROM)
        for n in notices(database_url)
    }
    assert set(received) == expected
    assert set(received.values()) == {1}
    per_person = Counter(header(m, "To") for m in mail_sink.messages())
    assert per_person == {f"{person}@example.org": 3 for person in people}


async def test_an_attempt_another_worker_holds_waits_for_its_lease_to_run_out(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    now = datetime.now(UTC)
    held = crashed_attempt(database_url, now)  # attempt 1, in flight
    lease_ends = now + timedelta(minutes=15)
    clock = Clock(now)
    _hold(database_url, held.id, lease_ends)
    key = notification_key("p-1", "application_received", "a-1")
    async with notifications(database_url, nats_url, mail_sink, clock=clock, migrate=False) as (
        service,
        _,
    ):
        service.delivery.wake()
        await asyncio.sleep(1.5)
        assert mail_sink.messages() == []  # its worker may still be sending it
        assert [n.state for n in notices(database_url)] == ["in_flight"]

        clock.now = lease_ends + timedelta(seconds=1)  # that worker is gone
        service.delivery.wake()
        await eventually(lambda: [n.state for n in notices(database_url)] == ["delivered"])
        [notice] = notices(database_url)
        assert notice.attempts == 2

        # The first worker comes back from a hang with its attempt's outcome: too late.
        late = RecordOutcome(held.id, 1, Result(Outcome.PERMANENT, "550"), now=clock())
        await service.bus.dispatch(late)
        [notice] = notices(database_url)
        assert (notice.state, notice.outcome_code) == ("delivered", None)
    [message] = mail_sink.messages()
    assert header(message, "Message-ID") == message_id(key, MAIL_FROM)


def _hold(database_url: str, notification_id: int | None, until: datetime) -> None:
    """The row as a live worker leaves it: in flight, its lease running to `until`."""
    engine = create_db_engine(database_url)
    with Session(engine) as session:
        row = session.get(DueNotification, notification_id)
        assert row is not None
        row.next_attempt_at = until
        session.add(row)
        session.commit()
    engine.dispose()
