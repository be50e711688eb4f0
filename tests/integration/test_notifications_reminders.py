"""Training reminders, end to end: `ApplicationAccepted` and `CohortScheduled` on a real
nats-server, the reminder scheduler on an injected clock, a real SMTP server
(`mail_sink`), both databases.

Everyone accepted into a cohort (and only they) is reminded the day before each training
day, once; a schedule that moves a day moves its reminder (one made due for the old date
and not sent is dropped); a withdrawn application gets none; who opted out of reminders
gets none. People who completed Peer Support 101 and have not applied are reminded
before each intake's application deadline."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from nats.js import JetStreamContext

from ips_shared.contracts.events import (
    ApplicationAccepted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CohortScheduled,
    PeerSupport101Completed,
    Transport,
)

from .harness import eventually, publish
from .test_notifications_delivery import (
    ENROLLMENT,
    NEW_YORK,
    OPERATOR,
    Clock,
    contact,
    header,
    next_local,
    notices,
    notifications,
    wrap,
)


def local(moment: datetime, at: time, days: int) -> datetime:
    """`days` after `moment`'s local date, at `at` (New York)."""
    when = moment.astimezone(NEW_YORK).date() + timedelta(days=days)
    return datetime.combine(when, at, tzinfo=NEW_YORK)


def accepted(person: str, cohort: str, application: str) -> Any:
    return wrap(
        ApplicationAccepted(
            application_id=application, person_id=person, intake="2027-spring", cohort_id=cohort
        ),
        ENROLLMENT,
    )


def schedule(cohort: str, *starts: datetime) -> Any:
    return wrap(
        CohortScheduled.model_validate(
            {
                "cohort_id": cohort,
                "place": "Augusta Civic Center",
                "days": [
                    {
                        "day": number,
                        "starts_at": start.isoformat(),
                        "ends_at": (start + timedelta(hours=7)).isoformat(),
                    }
                    for number, start in enumerate(starts, 1)
                ],
            }
        ),
        ENROLLMENT,
    )


def iso(moment: datetime) -> str:
    return moment.date().isoformat()


def reminder_states(database_url: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {
        (n.person_id, n.occasion): (n.state, n.outcome_code)
        for n in notices(database_url)
        if n.reason == "training_reminder"
    }


async def test_the_day_before_each_training_day_the_cohort_is_reminded_once(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    start = next_local(datetime.now(UTC), time(12, 0))  # ahead of the events' real times
    clock = Clock(start)
    day_1 = local(start, time(9, 0), 3)
    day_2 = local(start, time(9, 0), 5)
    moved_2 = local(start, time(9, 30), 7)
    async with notifications(database_url, nats_url, mail_sink, clock=clock) as (service, _):
        for person in ("p-1", "p-2", "p-3", "p-other"):
            await publish(jetstream, contact(person))
        await publish(jetstream, accepted("p-1", "c-1", "a-1"))
        await publish(jetstream, accepted("p-2", "c-1", "a-2"))
        await publish(jetstream, accepted("p-3", "c-1", "a-3"))
        await publish(jetstream, accepted("p-other", "c-2", "a-4"))
        await publish(jetstream, schedule("c-1", day_1, day_2))
        await publish(jetstream, schedule("c-2", local(start, time(9, 0), 20)))
        # The acceptances' own messages; then p-3 withdraws. No reminder yet.
        await eventually(lambda: len(mail_sink.messages()) == 4)
        withdrawn = ApplicationWithdrawn(
            application_id="a-3", person_id="p-3", intake="2027-spring"
        )
        await publish(jetstream, wrap(withdrawn, ENROLLMENT))
        await eventually(lambda: len(notices(database_url)) == 5)
        service.reminders.wake()
        await asyncio.sleep(1.0)
        assert reminder_states(database_url) == {}

        # The day before day 1, just after midnight: p-1 and p-2 are reminded, once.
        clock.now = local(start, time(0, 5), 2)
        service.reminders.wake()
        await eventually(
            lambda: (
                reminder_states(database_url)
                == {
                    ("p-1", f"c-1:1:{iso(day_1)}"): ("delivered", None),
                    ("p-2", f"c-1:1:{iso(day_1)}"): ("delivered", None),
                }
            )
        )
        for _ in range(3):
            service.reminders.wake()
            await asyncio.sleep(0.3)
        reminded = [m for m in mail_sink.messages() if "Training tomorrow" in header(m, "Subject")]
        assert sorted(header(m, "To") for m in reminded) == ["p-1@example.org", "p-2@example.org"]
        body = reminded[0].get_content()
        assert iso(day_1) in body and "09:00" in body and "Augusta Civic Center" in body

        # Day 2 moves two days later: the day before its old date, nothing; the day before
        # its new date, both are reminded of the new date.
        await publish(jetstream, schedule("c-1", day_1, moved_2))
        await asyncio.sleep(1.0)
        clock.now = local(start, time(7, 0), 4)
        service.reminders.wake()
        await asyncio.sleep(1.0)
        assert len(reminder_states(database_url)) == 2

        clock.now = local(start, time(7, 0), 6)
        service.reminders.wake()
        await eventually(lambda: len(reminder_states(database_url)) == 4)
        await eventually(
            lambda: all(state == "delivered" for state, _ in reminder_states(database_url).values())
        )
    states = reminder_states(database_url)
    assert set(states) == {
        ("p-1", f"c-1:1:{iso(day_1)}"),
        ("p-2", f"c-1:1:{iso(day_1)}"),
        ("p-1", f"c-1:2:{iso(moved_2)}"),
        ("p-2", f"c-1:2:{iso(moved_2)}"),
    }
    assert (
        len([m for m in mail_sink.messages() if "Training tomorrow" in header(m, "Subject")]) == 4
    )


async def test_a_reminder_not_sent_yet_for_a_moved_day_is_dropped_and_opting_out_holds(
    jetstream: JetStreamContext,
    database_url: str,
    nats_url: str,
    mail_sink: Any,
    text_sink: Any,
) -> None:
    start = next_local(datetime.now(UTC), time(22, 0))  # quiet hours: texts wait for 08:00
    clock = Clock(start)
    texting = {"phone": "+12075550100", "preferred_channel": "sms", "sms_consent": True}
    async with notifications(
        database_url, nats_url, mail_sink, text_sink=text_sink, clock=clock
    ) as (service, client):
        await publish(jetstream, contact("p-1", **texting))
        await publish(jetstream, contact("p-2"))

        async def opted_out() -> bool:
            answer = await client.put(
                "/people/p-2/preferences",
                json={"reminders": False},
                headers={"authorization": f"Bearer {OPERATOR}"},
            )
            return answer.status_code == 200

        await eventually(opted_out)
        await publish(jetstream, accepted("p-1", "c-1", "a-1"))
        await publish(jetstream, accepted("p-2", "c-1", "a-2"))
        tomorrow = local(start, time(9, 0), 1)
        await publish(jetstream, schedule("c-1", tomorrow))
        held = ("p-1", f"c-1:1:{iso(tomorrow)}")
        await eventually(lambda: reminder_states(database_url).get(held) == ("pending", None))
        await eventually(
            lambda: reminder_states(database_url).get(("p-2", held[1])) == ("skipped", "opted_out")
        )

        later = local(start, time(9, 0), 3)
        await publish(jetstream, schedule("c-1", later))
        await eventually(
            lambda: reminder_states(database_url).get(held) == ("skipped", "rescheduled")
        )
        clock.now = local(start, time(8, 0), 1)
        service.delivery.wake()
        service.reminders.wake()
        # Morning: the acceptance's text held overnight goes; no reminder with it.
        [text] = await asyncio.to_thread(text_sink.wait_for_messages, 1)
        await asyncio.sleep(1.0)
    assert "place in the training" in text["body"]
    assert len(text_sink.messages()) == 1
    assert len(reminder_states(database_url)) == 2


def completed(person: str, on: date) -> Any:
    return wrap(
        PeerSupport101Completed(person_id=person, session_id="s-1", completed_on=on), ENROLLMENT
    )


def applied(person: str, application: str) -> Any:
    return wrap(
        ApplicationSubmitted(
            application_id=application,
            person_id=person,
            intake="2027-spring",
            submitted_at=datetime(2026, 11, 20, tzinfo=UTC),
            transport=Transport.OWN_CAR,
        ),
        ENROLLMENT,
    )


def deadline_states(database_url: str) -> dict[tuple[str, str], str]:
    return {
        (n.person_id, n.occasion): n.state
        for n in notices(database_url)
        if n.reason == "deadline_reminder"
    }


async def test_graduates_who_have_not_applied_are_reminded_30_and_7_days_before_a_deadline(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    """Maine's spring deadline is 15 January 2027: reminders on 16 December and 8 January,
    to who completed Peer Support 101 before each and has not applied (in whichever order
    the two events come), once each, whichever replica's pass finds them."""
    clock = Clock(datetime(2026, 12, 10, 12, 0, tzinfo=NEW_YORK))
    async with notifications(database_url, nats_url, mail_sink, clock=clock) as (service, client):
        for person in ("g-1", "g-2", "g-3", "g-4", "g-5"):
            await publish(jetstream, contact(person))
        await publish(jetstream, completed("g-1", date(2026, 11, 1)))  # reminded twice
        await publish(jetstream, completed("g-2", date(2026, 11, 2)))
        await publish(jetstream, applied("g-2", "a-2"))  # applied: never
        await publish(jetstream, applied("g-4", "a-4"))  # applied before the completion
        await publish(jetstream, completed("g-4", date(2026, 11, 3)))  # came: never
        await publish(jetstream, completed("g-5", date(2026, 11, 4)))  # opts out

        async def opted_out() -> bool:  # once the person is known (their contact came)
            answer = await client.put(
                "/people/g-5/preferences",
                json={"reminders": False},
                headers={"authorization": f"Bearer {OPERATOR}"},
            )
            return answer.status_code == 200

        await eventually(opted_out)
        await eventually(lambda: len(notices(database_url)) == 6)  # their own messages
        service.reminders.wake()
        await asyncio.sleep(1.0)
        assert deadline_states(database_url) == {}  # 10 December: too early

        clock.now = datetime(2026, 12, 16, 0, 5, tzinfo=NEW_YORK)
        service.reminders.wake()
        await eventually(
            lambda: (
                deadline_states(database_url)
                == {("g-1", "2027-spring:30d"): "delivered", ("g-5", "2027-spring:30d"): "skipped"}
            )
        )
        # g-3 completes after the 30-day reminder: the 7-day one only.
        await publish(jetstream, contact("g-3"))
        await publish(jetstream, completed("g-3", date(2026, 12, 20)))
        await eventually(lambda: len(notices(database_url)) == 9)
        for _ in range(3):
            service.reminders.wake()
            await asyncio.sleep(0.3)
        assert len(deadline_states(database_url)) == 2

        clock.now = datetime(2027, 1, 8, 9, 0, tzinfo=NEW_YORK)
        service.reminders.wake()
        await eventually(
            lambda: (
                {key: state for key, state in deadline_states(database_url).items()}
                == {
                    ("g-1", "2027-spring:30d"): "delivered",
                    ("g-5", "2027-spring:30d"): "skipped",
                    ("g-1", "2027-spring:7d"): "delivered",
                    ("g-3", "2027-spring:7d"): "delivered",
                    ("g-5", "2027-spring:7d"): "skipped",
                }
            )
        )
    closing = [m for m in mail_sink.messages() if "close on 2027-01-15" in header(m, "Subject")]
    assert sorted(header(m, "To") for m in closing) == [
        "g-1@example.org",
        "g-1@example.org",
        "g-3@example.org",
    ]
    assert "7 days" in next(
        m.get_content() for m in closing if header(m, "To") == "g-3@example.org"
    )
