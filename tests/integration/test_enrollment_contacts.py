"""Enrollment publishes contact details, on each person's own subject in CONTACTS (the
latest only), and cohorts' schedules; no other event carries contact details."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from ips_enrollment.bootstrap import bootstrap
from ips_enrollment.db import tables
from ips_enrollment.settings import EnrollmentSettings
from ips_shared.auth import Role, token_entry
from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import MSG_ID_HEADER

from .enrollment_flow import OPERATOR, TOKENS, TRAINER, Enrollment, person_token
from .harness import eventually, migrate_service, rows
from .log_capture import captured_log_lines

SELF, OTHER = "p-self", "p-other"
NOW = datetime(2028, 6, 1, 3, 0, tzinfo=UTC)
# Distinctive details, so that finding them anywhere is no coincidence.
NAME, EMAIL = "Zebadiah Quillfeather", "zebadiah.quill@example.org"
PHONE, E164 = "(207) 555-0147", "+12075550147"
DETAILS = (NAME, "Quillfeather", EMAIL, "zebadiah.quill", "555-0147", "2075550147")


@pytest.fixture
async def enrollment(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> AsyncIterator[Enrollment]:
    migrate_service(database_url, tables)
    tokens = {
        **TOKENS,
        **{
            person_token(who): token_entry(person_token(who), Role.PERSON, who)
            for who in (SELF, OTHER)
        },
    }
    app = bootstrap(
        EnrollmentSettings(
            database_url=database_url, nats_url=nats_url, relay_poll_seconds=0.05, api_tokens=tokens
        ),
        clock=lambda: NOW,
    ).http_app()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://enrollment")
        )
        yield Enrollment(client)


async def messages(js: JetStreamContext, stream: str) -> list[tuple[str, dict[str, Any]]]:
    """(subject, envelope) of every message the stream holds, in order."""
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            message = await js.get_msg(stream, sequence)
        except NotFoundError:  # replaced by a newer message on its subject
            continue
        envelope = json.loads(message.data)
        assert message.headers and message.headers[MSG_ID_HEADER] == envelope["id"]
        found.append((message.subject, envelope))
    return found


async def published(database_url: str) -> None:
    """Every outbox row has been published."""
    await eventually(lambda: all(row.published_at for row in rows(database_url, tables.Outbox)))


async def latest_contact(js: JetStreamContext, person_id: str) -> dict[str, Any]:
    subject = subjects.person_contact_subject(person_id)
    message = await js.get_last_msg(streams.CONTACTS.name, subject)
    envelope: dict[str, Any] = json.loads(message.data)
    assert envelope["type"] == "PersonContactChanged"
    assert envelope["source"] == "service/enrollment"
    assert envelope["partitionkey"] == person_id
    return envelope["data"]  # type: ignore[no-any-return]


def outbox_types(database_url: str) -> list[str]:
    return [row.event_type for row in rows(database_url, tables.Outbox)]


async def add_self(enrollment: Enrollment, **extra: Any) -> dict[str, Any]:
    body = {"name": NAME, "region": "York", "person_id": SELF, "email": EMAIL, **extra}
    return await enrollment.ok("POST", "/people", **body)  # type: ignore[no-any-return]


# -- contact details ------------------------------------------------------------------------


async def test_a_new_person_is_published_once_on_their_own_subject_in_contacts(
    enrollment: Enrollment, jetstream: JetStreamContext, database_url: str
) -> None:
    created = await add_self(
        enrollment, phone=PHONE, preferred_channel="sms", sms_consent=True, language="es"
    )
    assert (created["phone"], created["language"]) == (E164, "es")  # kept as E.164
    await published(database_url)

    subject = subjects.person_contact_subject(SELF)
    assert SELF not in subject
    info = await jetstream.stream_info(streams.CONTACTS.name, subjects_filter=subject)
    assert info.state.messages == 1
    assert info.state.subjects == {subject: 1}
    assert await latest_contact(jetstream, SELF) == {
        "person_id": SELF,
        "name": NAME,
        "email": EMAIL,
        "phone": E164,
        "preferred_channel": "sms",
        "sms_consent": True,
        "language": "es",
        "erased": False,
    }
    assert outbox_types(database_url) == ["PersonContactChanged"]
    assert await messages(jetstream, streams.ENROLLMENT.name) == []

    other = await enrollment.person()  # a person without a language named: English
    await published(database_url)
    assert (await latest_contact(jetstream, other))["language"] == "en"
    assert (await jetstream.stream_info(streams.CONTACTS.name)).state.messages == 2


async def test_changed_details_are_published_and_the_stream_keeps_only_the_latest(
    enrollment: Enrollment, jetstream: JetStreamContext, database_url: str
) -> None:
    await add_self(enrollment)
    other = await enrollment.person()

    changed = await enrollment.ok(
        "PATCH", f"/people/{SELF}/contact", email="new.zeb@example.org", language="es"
    )
    assert (changed["email"], changed["language"], changed["name"]) == (
        "new.zeb@example.org",
        "es",
        NAME,
    )
    await enrollment.ok(
        "PATCH",
        f"/people/{SELF}/contact",
        phone="+44 20 7946 0958",
        preferred_channel="sms",
        sms_consent=True,
    )
    await published(database_url)

    subject = subjects.person_contact_subject(SELF)
    info = await jetstream.stream_info(streams.CONTACTS.name, subjects_filter=subject)
    assert info.state.subjects == {subject: 1}  # three published, the latest kept
    assert (info.state.messages, info.state.last_seq) == (2, 4)  # and the other person's
    assert await latest_contact(jetstream, SELF) == {
        "person_id": SELF,
        "name": NAME,
        "email": "new.zeb@example.org",
        "phone": "+442079460958",
        "preferred_channel": "sms",
        "sms_consent": True,
        "language": "es",
        "erased": False,
    }
    assert (await latest_contact(jetstream, other))["email"] == "peer@example.org"
    shown = await enrollment.ok("GET", f"/people/{SELF}")
    assert (shown["phone"], shown["preferred_channel"]) == ("+442079460958", "sms")

    # Nothing changed, nothing published; null clears an email address.
    before = len(outbox_types(database_url))
    await enrollment.ok("PATCH", f"/people/{SELF}/contact", language="es", sms_consent=True)
    assert len(outbox_types(database_url)) == before
    await enrollment.ok("PATCH", f"/people/{SELF}/contact", email=None)
    await published(database_url)
    assert (await latest_contact(jetstream, SELF))["email"] is None
    assert outbox_types(database_url).count("PersonContactChanged") == 5


async def test_erased_details_are_gone_from_enrollment_its_outbox_and_the_stream(
    enrollment: Enrollment, jetstream: JetStreamContext, database_url: str
) -> None:
    await add_self(enrollment, phone=PHONE, preferred_channel="sms", sms_consent=True)
    await enrollment.ok("PATCH", f"/people/{SELF}/contact", email="second.zeb@example.org")
    other = await enrollment.person()
    await published(database_url)
    by_self = await enrollment.call("DELETE", f"/people/{SELF}/contact", person_token(SELF))
    assert (by_self.status_code, by_self.json()["code"]) == (403, "forbidden")  # operators do it

    erased = await enrollment.ok("DELETE", f"/people/{SELF}/contact")
    assert (erased["email"], erased["phone"], erased["sms_consent"]) == (None, None, False)
    assert (erased["name"], erased["preferred_channel"]) == (NAME, "email")  # the record stays
    await published(database_url)

    assert await latest_contact(jetstream, SELF) == {
        "person_id": SELF,
        "name": "",
        "email": None,
        "phone": None,
        "preferred_channel": "email",
        "sms_consent": False,
        "language": "en",
        "erased": True,
    }
    held = json.dumps(await messages(jetstream, streams.CONTACTS.name))
    kept = b"".join(row.payload for row in rows(database_url, tables.Outbox))
    for detail in (EMAIL, "second.zeb@example.org", E164):
        assert detail not in held and detail.encode() not in kept
    assert (await latest_contact(jetstream, other))["email"] == "peer@example.org"
    unknown = await enrollment.call("DELETE", "/people/zz-nobody/contact", OPERATOR)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_person")


async def test_a_person_changes_their_own_details_and_nobody_elses(
    enrollment: Enrollment, jetstream: JetStreamContext, database_url: str
) -> None:
    await add_self(enrollment)
    await enrollment.ok("POST", "/people", name="The Other", region="York", person_id=OTHER)
    mine = person_token(SELF)

    own = await enrollment.call("PATCH", f"/people/{SELF}/contact", mine, name="Zeb")
    assert (own.status_code, own.json()["name"]) == (200, "Zeb")

    anothers = await enrollment.call("PATCH", f"/people/{OTHER}/contact", mine, name="Mallory")
    unknown = await enrollment.call("PATCH", "/people/zz-nobody/contact", mine, name="Mallory")
    assert (anothers.status_code, anothers.json()["code"]) == (404, "unknown_person")
    assert (anothers.status_code, anothers.content) == (unknown.status_code, unknown.content)
    by_trainer = await enrollment.call("PATCH", f"/people/{OTHER}/contact", TRAINER, name="T")
    assert (by_trainer.status_code, by_trainer.json()["code"]) == (403, "forbidden")
    anonymous = await enrollment.client.patch(f"/people/{OTHER}/contact", json={"name": "A"})
    assert anonymous.status_code == 401
    operator = await enrollment.call("PATCH", f"/people/{OTHER}/contact", OPERATOR, name="Oth")
    assert operator.status_code == 200

    await published(database_url)
    assert (await latest_contact(jetstream, SELF))["name"] == "Zeb"
    assert (await latest_contact(jetstream, OTHER))["name"] == "Oth"
    assert outbox_types(database_url).count("PersonContactChanged") == 4


async def test_invalid_contact_details_are_refused_with_a_code_and_never_echoed(
    enrollment: Enrollment, database_url: str
) -> None:
    await add_self(enrollment)
    before = len(outbox_types(database_url))
    path = f"/people/{SELF}/contact"

    invalid_request: list[dict[str, Any]] = [
        {"email": "zz-not-an-email"},
        {"phone": "555-01-zz"},
        {"phone": "12345678"},  # neither North American nor with its country code
        {"phone": "+0123456789"},
        {"name": ""},
        {"name": None},
        {"sms_consent": None},
        {"language": "zz"},
        {"preferred_channel": "pigeon-zz"},
        {"region": "Zzland"},  # not a contact detail
        {},
    ]
    for body in invalid_request:
        answer = await enrollment.client.patch(
            path, json=body, headers={"authorization": f"Bearer {OPERATOR}"}
        )
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request"), body
        assert answer.json()["detail"]
        for value in body.values():
            if value:
                assert str(value) not in answer.text, answer.text

    unreachable = [
        {"preferred_channel": "sms"},  # no phone, no consent
        {"preferred_channel": "sms", "phone": "207 555 0147"},  # no consent
    ]
    for body in unreachable:
        answer = await enrollment.call("PATCH", path, **body)
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_contact"), body
        assert "consent" in answer.json()["detail"]
        assert "555" not in answer.text

    await enrollment.ok("PATCH", path, phone=PHONE, sms_consent=True, preferred_channel="sms")
    withdrawn = await enrollment.call("PATCH", path, sms_consent=False)  # still texts chosen
    assert (withdrawn.status_code, withdrawn.json()["code"]) == (422, "invalid_contact")
    refused_phone = await enrollment.call("POST", "/people", name="X", region="Y", phone="12-zz")
    assert (refused_phone.status_code, refused_phone.json()["code"]) == (422, "invalid_request")

    assert len(outbox_types(database_url)) == before + 1  # the one accepted change
    shown = await enrollment.ok("GET", f"/people/{SELF}")
    assert (shown["name"], shown["email"], shown["sms_consent"]) == (NAME, EMAIL, True)


# -- a cohort's schedule ----------------------------------------------------------------------


def training_days(first: datetime, count: int = 8) -> list[dict[str, str]]:
    return [
        {
            "day": day,
            "starts_at": (first + timedelta(days=day - 1)).isoformat(),
            "ends_at": (first + timedelta(days=day - 1, hours=7)).isoformat(),
        }
        for day in range(1, count + 1)
    ]


FIRST = datetime.fromisoformat("2027-02-01T09:00:00-05:00")


async def test_an_operator_schedules_a_cohort_and_changes_its_schedule(
    enrollment: Enrollment, jetstream: JetStreamContext, database_url: str
) -> None:
    cohort = "2027-spring"
    unset = await enrollment.call("GET", f"/cohorts/{cohort}/schedule")
    assert (unset.status_code, unset.json()["code"]) == (404, "no_schedule")

    days = training_days(FIRST)
    scheduled = await enrollment.ok(
        "PUT", f"/cohorts/{cohort}/schedule", place="Augusta Civic Center", days=days[::-1]
    )
    assert [d["day"] for d in scheduled["days"]] == list(range(1, 9))  # in day order
    await enrollment.ok("PUT", f"/cohorts/{cohort}/schedule", place="Bangor Library", days=days[:6])
    read = await enrollment.ok("GET", f"/cohorts/{cohort}/schedule", person_token(SELF))
    assert (read["cohort_id"], read["place"], len(read["days"])) == (cohort, "Bangor Library", 6)
    assert datetime.fromisoformat(read["days"][0]["starts_at"]) == FIRST

    await published(database_url)
    found = [e for _, e in await messages(jetstream, streams.ENROLLMENT.name)]
    assert [e["type"] for e in found] == ["CohortScheduled", "CohortScheduled"]
    assert {e["partitionkey"] for e in found} == {cohort}
    first, latest = (e["data"] for e in found)
    assert (first["place"], len(first["days"])) == ("Augusta Civic Center", 8)
    assert latest["cohort_id"] == cohort and latest["place"] == "Bangor Library"
    assert [d["day"] for d in latest["days"]] == [1, 2, 3, 4, 5, 6]
    assert datetime.fromisoformat(latest["days"][5]["ends_at"]) == FIRST + timedelta(
        days=5, hours=7
    )


async def test_a_bad_schedule_is_refused_and_publishes_nothing(
    enrollment: Enrollment, database_url: str
) -> None:
    days = training_days(FIRST, 3)
    naive = [{**days[0], "starts_at": "2027-02-01T09:00:00"}]
    backwards = [{**days[0], "ends_at": days[0]["starts_at"]}]
    refusals: list[tuple[str, dict[str, Any], tuple[int, str]]] = [
        ("2027-spring", {"place": "X", "days": [days[0], days[0]]}, (422, "invalid_schedule")),
        ("2027-spring", {"place": "X", "days": backwards}, (422, "invalid_schedule")),
        ("2027-spring", {"place": " ", "days": days}, (422, "invalid_schedule")),
        ("2027-spring", {"place": "X", "days": naive}, (422, "invalid_request")),
        ("2027-spring", {"place": "X", "days": [{**days[0], "day": 9}]}, (422, "invalid_request")),
        ("2027-spring", {"place": "X", "days": [{**days[0], "day": 0}]}, (422, "invalid_request")),
        ("2027-spring", {"place": "X", "days": []}, (422, "invalid_request")),
        ("2027-spring", {"place": "", "days": days}, (422, "invalid_request")),
        ("2027-spring", {"days": days}, (422, "invalid_request")),
        ("2027-autumn", {"place": "X", "days": days}, (404, "unknown_cohort")),
        ("0000-spring", {"place": "X", "days": days}, (404, "unknown_cohort")),
        ("garbage", {"place": "X", "days": days}, (422, "invalid_request")),
    ]
    for cohort, body, expected in refusals:
        answer = await enrollment.call("PUT", f"/cohorts/{cohort}/schedule", **body)
        assert (answer.status_code, answer.json().get("code")) == expected, (body, answer.text)
        assert answer.json()["detail"]
        assert "2027-02-01T09" not in answer.text  # refusals never echo what was sent
    by_trainer = await enrollment.call(
        "PUT", "/cohorts/2027-spring/schedule", TRAINER, place="X", days=days
    )
    assert by_trainer.status_code == 403

    assert outbox_types(database_url) == []
    assert rows(database_url, tables.CohortSchedule) == []
    assert rows(database_url, tables.CohortTrainingDay) == []


# -- contact details nowhere else ------------------------------------------------------------


async def test_no_other_event_and_no_log_line_carries_contact_details(
    enrollment: Enrollment, jetstream: JetStreamContext, database_url: str
) -> None:
    with captured_log_lines("enrollment") as log:
        await add_self(enrollment, phone=PHONE, preferred_channel="sms", sms_consent=True)
        await enrollment.ok("PATCH", f"/people/{SELF}/contact", language="es", name=NAME + " Jr")
        await enrollment.ps101_done(SELF)
        application = await enrollment.apply(SELF, person_token(SELF), transport="needs_ride")
        cohort = application["intake"]
        await enrollment.ok("POST", f"/applications/{application['application_id']}/accept")
        await enrollment.ok(
            "PUT", f"/cohorts/{cohort}/schedule", place="Augusta", days=training_days(FIRST)
        )
        await enrollment.attend_all(cohort, SELF)
        await enrollment.call("PATCH", f"/people/{SELF}/contact", email="zz-bad-" + EMAIL)
        await published(database_url)

    types = {e["type"] for _, e in await messages(jetstream, streams.ENROLLMENT.name)}
    assert types == {
        "PeerSupport101Completed",
        "ApplicationSubmitted",
        "ApplicationAccepted",
        "CohortScheduled",
        "TrainingDayAttended",
        "TrainingCompleted",
    }
    for _, envelope in await messages(jetstream, streams.ENROLLMENT.name):
        text = json.dumps(envelope)
        assert not [d for d in DETAILS if d in text], envelope["type"]
        assert not {"name", "email", "phone"} & set(envelope["data"]), envelope["type"]
    for row in rows(database_url, tables.Outbox):
        if row.event_type != "PersonContactChanged":
            assert not [d for d in DETAILS if d.encode() in row.payload], row.event_type
    contacts = await messages(jetstream, streams.CONTACTS.name)
    assert [subject for subject, _ in contacts] == [subjects.person_contact_subject(SELF)]
    assert contacts[0][1]["data"]["name"] == NAME + " Jr"

    lines = log.getvalue()
    assert lines  # the service did log
    assert not [d for d in DETAILS if d in lines]
