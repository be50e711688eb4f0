"""A person's preferences, end to end: set over HTTP (by the person, their own only, or an
operator), then applied by the delivery worker to real events on a real nats-server, a
real SMTP server (`mail_sink`) and text endpoint (`text_sink`), on both databases.

Opting out of reminders skips what a rule lets a person opt out of (recorded as
`skipped`/`opted_out`, listed for operators, no `NotificationFailed`) and never a message
about their certification status; a person's quiet hours hold a text the program's would
let through; a chosen language wins over the contact's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Any

from nats.js import JetStreamContext

from .harness import eventually, publish
from .test_notifications_delivery import (
    OPERATOR,
    PERSON,
    Clock,
    _count,
    contact,
    header,
    next_local,
    notices,
    notifications,
    notifying_events,
    outcomes,
    wrap,
)

AS_OPERATOR = {"authorization": f"Bearer {OPERATOR}"}
AS_PERSON = {"authorization": f"Bearer {PERSON}"}  # p-1's own token


def event_for(reason: str, person: str = "p-1") -> Any:
    payload, source, _ = next(e for e in notifying_events(person) if e[2] == reason)
    return wrap(payload, source)


async def test_a_person_sets_their_own_preferences_and_an_operator_anyones(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    async with notifications(database_url, nats_url, mail_sink) as (_service, client):
        before_known = await client.get("/people/p-1/preferences", headers=AS_PERSON)
        await publish(jetstream, contact("p-1"))
        await publish(jetstream, contact("p-2"))

        async def known() -> bool:
            answer = await client.get("/people/p-2/preferences", headers=AS_OPERATOR)
            return answer.status_code == 200

        await eventually(known)
        defaults = await client.get("/people/p-1/preferences", headers=AS_PERSON)
        chosen = {
            "language": "es",
            "quiet_hours": {"start": "20:00", "end": "09:30"},
            "reminders": False,
        }
        mine = await client.put("/people/p-1/preferences", json=chosen, headers=AS_PERSON)
        read_back = await client.get("/people/p-1/preferences", headers=AS_PERSON)
        by_operator = await client.put(
            "/people/p-2/preferences", json={"reminders": True}, headers=AS_OPERATOR
        )
        back_to_default = await client.put(
            "/people/p-1/preferences", json={"reminders": True}, headers=AS_PERSON
        )
        # Another person's preferences are answered exactly as an unknown person's.
        others = await client.get("/people/p-2/preferences", headers=AS_PERSON)
        others_put = await client.put(
            "/people/p-2/preferences", json={"reminders": False}, headers=AS_PERSON
        )
        unknown = await client.get("/people/p-nobody/preferences", headers=AS_OPERATOR)
        unknown_put = await client.put(
            "/people/p-nobody/preferences", json={"reminders": False}, headers=AS_OPERATOR
        )
        anonymous = await client.get("/people/p-1/preferences")
        refusals = [
            await client.put("/people/p-1/preferences", json=body, headers=AS_PERSON)
            for body in (
                {"language": "fr-secret", "reminders": True},
                {"quiet_hours": {"start": "25:61", "end": "08:00"}, "reminders": True},
                {"quiet_hours": {"start": "07:15", "end": "07:15"}, "reminders": True},
                {"quiet_hours": {"start": "21:00"}, "reminders": True},
                {"language": "en"},
                {"reminders": "maybe-secret"},
                {"reminders": True, "email": "secret@example.org"},
            )
        ]

    assert before_known.status_code == 404
    assert defaults.status_code == 200
    assert defaults.json() == {
        "person_id": "p-1",
        "language": None,
        "quiet_hours": None,
        "reminders": True,
    }
    assert (
        mine.status_code == 200 and read_back.json() == mine.json() == {"person_id": "p-1"} | chosen
    )
    assert by_operator.status_code == 200 and by_operator.json()["reminders"] is True
    assert back_to_default.json() == defaults.json()
    for answer in (others, others_put, unknown, unknown_put):
        assert answer.status_code == 404
        assert answer.json() == unknown.json()
    assert unknown.json()["code"] == "unknown_person"
    assert anonymous.status_code == 401
    for answer in refusals:
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_request"
        for value in ("fr-secret", "25:61", "07:15", "maybe-secret", "secret@example.org"):
            assert value not in answer.text


async def test_who_opted_out_gets_no_reminder_but_still_news_of_their_status(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    async with notifications(database_url, nats_url, mail_sink) as (_service, client):
        await publish(jetstream, contact("p-1"))

        async def opted_out() -> bool:
            answer = await client.put(
                "/people/p-1/preferences", json={"reminders": False}, headers=AS_PERSON
            )
            return answer.status_code == 200

        await eventually(opted_out)
        for reason in ("ps101_completed", "training_completed", "certified", "lapsed"):
            await publish(jetstream, event_for(reason))

        await eventually(
            lambda: (
                sorted(n.state for n in notices(database_url))
                == ["delivered", "delivered", "skipped", "skipped"]
            )
        )
        await asyncio.sleep(1.0)
        messages = mail_sink.messages()
        listed = await client.get("/notifications", headers=AS_OPERATOR)
        await eventually(lambda: _count(outcomes(jetstream), 2))
        await asyncio.sleep(0.5)
        published = await outcomes(jetstream)

    assert len(messages) == 2
    states = {n.reason: (n.state, n.outcome_code, n.attempts) for n in notices(database_url)}
    assert states["ps101_completed"] == ("skipped", "opted_out", 0)
    assert states["training_completed"] == ("skipped", "opted_out", 0)
    assert states["certified"][0] == states["lapsed"][0] == "delivered"
    by_reason = {entry["reason"]: entry for entry in listed.json()}
    assert (
        by_reason["ps101_completed"]["state"],
        by_reason["ps101_completed"]["outcome_code"],
    ) == (
        "skipped",
        "opted_out",
    )
    assert by_reason["ps101_completed"]["finished_at"] is not None
    assert sorted((e["type"], e["data"]["reason"]) for e in published) == [
        ("NotificationDelivered", "certified"),
        ("NotificationDelivered", "lapsed"),
    ]


async def test_a_persons_quiet_hours_hold_a_text_the_programs_would_let_through(
    jetstream: JetStreamContext,
    database_url: str,
    nats_url: str,
    mail_sink: Any,
    text_sink: Any,
) -> None:
    clock = Clock(next_local(datetime.now(UTC), time(12, 0)))  # outside 21:00-08:00
    texting = {"phone": "+12075550100", "preferred_channel": "sms", "sms_consent": True}
    async with notifications(
        database_url, nats_url, mail_sink, text_sink=text_sink, clock=clock
    ) as (service, client):
        await publish(jetstream, contact("p-1", **texting))

        async def quiet_at_midday() -> bool:
            answer = await client.put(
                "/people/p-1/preferences",
                json={"quiet_hours": {"start": "11:00", "end": "14:30"}, "reminders": True},
                headers=AS_PERSON,
            )
            return answer.status_code == 200

        await eventually(quiet_at_midday)
        await publish(jetstream, event_for("application_received"))
        resume = next_local(clock.now, time(14, 30))
        await eventually(
            lambda: (
                [(n.state, n.next_attempt_at) for n in notices(database_url)]
                == [("pending", resume)]
            )
        )
        await asyncio.sleep(1.0)
        assert text_sink.messages() == []

        clock.now = resume
        service.delivery.wake()
        [text] = await asyncio.to_thread(text_sink.wait_for_messages, 1)
        await eventually(lambda: [n.state for n in notices(database_url)] == ["delivered"])
    assert text["to"] == "+12075550100"
    assert mail_sink.messages() == []


async def test_a_chosen_language_wins_over_the_contacts(
    jetstream: JetStreamContext, database_url: str, nats_url: str, mail_sink: Any
) -> None:
    async with notifications(database_url, nats_url, mail_sink) as (_service, client):
        await publish(jetstream, contact("p-1", language="en", name="Ana"))

        async def spanish() -> bool:
            answer = await client.put(
                "/people/p-1/preferences",
                json={"language": "es", "reminders": True},
                headers=AS_OPERATOR,
            )
            return answer.status_code == 200

        await eventually(spanish)
        await publish(jetstream, event_for("review_due"))
        [message] = await asyncio.to_thread(mail_sink.wait_for_messages, 1)
    assert message.get_content().startswith("Hola Ana:")
    assert header(message, "To") == "p-1@example.org"
