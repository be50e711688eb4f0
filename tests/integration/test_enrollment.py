"""Enrollment over its HTTP API, with a real nats-server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from ips_enrollment.bootstrap import bootstrap
from ips_enrollment.db import tables
from ips_enrollment.settings import EnrollmentSettings
from ips_shared.auth import Role, token_entry
from ips_shared.contracts.envelope import MSG_ID_HEADER

from .enrollment_flow import OPERATOR, TOKENS, TRAINER, Enrollment, person_token
from .harness import eventually, migrate_service, rows

SELF = "p-self"
UNKNOWN, UNKNOWN_TOO = "zz-secret-id-42", "zz-secret-id-420"  # distinctive ids
# The service's clock: after every day these tests attend, and still May 31 in the program's
# time zone (New York) although June 1 in UTC.
NOW = datetime(2028, 6, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
async def enrollment(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> AsyncIterator[Enrollment]:
    migrate_service(database_url, tables)
    tokens = {**TOKENS, person_token(SELF): token_entry(person_token(SELF), Role.PERSON, SELF)}
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


async def stream_events(js: JetStreamContext) -> list[dict[str, Any]]:
    info = await js.stream_info("ENROLLMENT")
    if not info.state.messages:
        return []
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg("ENROLLMENT", sequence)
        envelope = json.loads(message.data)
        assert message.headers[MSG_ID_HEADER] == envelope["id"]
        found.append(envelope)
    return found


async def settled(js: JetStreamContext, count: int) -> list[dict[str, Any]]:
    async def enough() -> bool:
        return len(await stream_events(js)) >= count

    await eventually(enough)
    return await stream_events(js)


async def test_from_registration_to_training_completed(
    enrollment: Enrollment, jetstream: JetStreamContext
) -> None:
    person = await enrollment.person()
    await enrollment.ps101_done(person)
    application = await enrollment.apply(person, transport="needs_ride")
    cohort = application["intake"]
    accepted = await enrollment.ok("POST", f"/applications/{application['application_id']}/accept")
    assert accepted["status"] == "accepted"

    results = await enrollment.attend_all(cohort, person)
    assert [r["training_completed"] for r in results] == [False] * 7 + [True]
    again = await enrollment.ok(
        "POST",
        f"/cohorts/{cohort}/attendance",
        TRAINER,
        person_id=person,
        day=8,
        attended_on="2027-02-08",
    )
    assert again["training_completed"] is False

    found = await settled(jetstream, 12)
    assert [event["type"] for event in found] == [
        "PeerSupport101Completed",
        "ApplicationSubmitted",
        "ApplicationAccepted",
        *["TrainingDayAttended"] * 8,
        "TrainingCompleted",
    ]
    assert {event["partitionkey"] for event in found} == {person}
    completed = found[-1]["data"]
    assert completed == {
        "person_id": person,
        "cohort_id": cohort,
        "completed_on": "2027-02-08",
        "region": "Cumberland",  # the person's, for certification's lists
    }


async def test_waitlist_in_submission_order_and_promotion(
    enrollment: Enrollment, jetstream: JetStreamContext
) -> None:
    people = [await enrollment.person(name=f"Peer {n}") for n in range(4)]
    applications = []
    for person in people:
        await enrollment.ps101_done(person)
        applications.append(await enrollment.apply(person))
    cohort = applications[0]["intake"]
    await enrollment.ok("PUT", f"/cohorts/{cohort}/capacity", capacity=2)

    ids = [application["application_id"] for application in applications]
    outcomes = [
        (await enrollment.ok("POST", f"/applications/{i}/accept"))["status"]
        for i in ids[3:] + ids[:3]
    ]
    assert outcomes == ["accepted", "accepted", "waitlisted", "waitlisted"]

    full = await enrollment.call("POST", f"/applications/{ids[1]}/accept")
    assert (full.status_code, full.json()["code"]) == (409, "cohort_full")

    await enrollment.ok("POST", f"/applications/{ids[3]}/decline", reason_code="not_eligible")
    assert (await enrollment.ok("GET", f"/applications/{ids[1]}"))["status"] == "accepted"
    assert (await enrollment.ok("GET", f"/applications/{ids[2]}"))["status"] == "waitlisted"

    found = await settled(jetstream, 4 * 2 + 6)
    waitlisted = [e["data"] for e in found if e["type"] == "ApplicationWaitlisted"]
    assert [(w["application_id"], w["position"]) for w in waitlisted] == [(ids[1], 1), (ids[2], 2)]
    assert [e["type"] for e in found[-2:]] == ["ApplicationDeclined", "ApplicationAccepted"]


async def test_bad_input_is_refused_with_a_code_and_changes_nothing(
    enrollment: Enrollment, jetstream: JetStreamContext
) -> None:
    person = await enrollment.person()
    stranger = await enrollment.person(name="Not In Cohort")

    no_ps101 = await enrollment.call(
        "POST", "/applications", person_id=person, self_identifies_as_peer=True, transport="own_car"
    )
    assert (no_ps101.status_code, no_ps101.json()["code"]) == (409, "missing_prerequisite")
    assert "Peer Support 101" in no_ps101.json()["detail"]

    await enrollment.ps101_done(person)
    await enrollment.ps101_done(stranger)
    application = await enrollment.apply(person)
    cohort = application["intake"]
    await enrollment.ok("POST", f"/applications/{application['application_id']}/accept")
    before = len(await settled(jetstream, 4))

    refusals = {
        "unknown_person": await enrollment.call(
            "POST",
            "/applications",
            person_id="nobody",
            self_identifies_as_peer=True,
            transport="own_car",
        ),
        "duplicate_application": await enrollment.call(
            "POST",
            "/applications",
            person_id=person,
            self_identifies_as_peer=True,
            transport="own_car",
        ),
        "not_in_cohort": await enrollment.call(
            "POST",
            f"/cohorts/{cohort}/attendance",
            TRAINER,
            person_id=stranger,
            day=1,
            attended_on="2027-02-01",
        ),
        "invalid_request": await enrollment.call(
            "POST",
            f"/cohorts/{cohort}/attendance",
            TRAINER,
            person_id=person,
            day=9,
            attended_on="2027-02-01",
        ),
        "invalid_transition": await enrollment.call(
            "POST", f"/applications/{application['application_id']}/accept"
        ),
    }
    for code, answer in refusals.items():
        assert answer.json()["code"] == code, (code, answer.text)
        assert 400 <= answer.status_code < 500
        assert answer.json()["detail"]

    wrong_date = await enrollment.call(
        "POST",
        f"/cohorts/{cohort}/attendance",
        TRAINER,
        person_id=person,
        day=1,
        attended_on="01/02/2027",
    )
    assert wrong_date.status_code == 422
    assert [e["field"] for e in wrong_date.json()["errors"]] == ["body.attended_on"]
    assert "01/02/2027" not in wrong_date.text  # refusals never echo what was sent

    assert len(await stream_events(jetstream)) == before


async def test_roles_and_own_records(enrollment: Enrollment) -> None:
    await enrollment.ok("POST", "/people", name="Self", region="York", person_id=SELF)
    other = await enrollment.person()
    await enrollment.ps101_done(SELF)
    await enrollment.ps101_done(other)
    mine = person_token(SELF)

    assert (await enrollment.client.get("/people/" + SELF)).status_code == 401
    assert (await enrollment.call("GET", "/people/" + SELF, "wrong-token")).status_code == 401
    assert (await enrollment.call("GET", "/people/" + SELF, mine)).status_code == 200

    own = await enrollment.apply(SELF, mine)
    accept = await enrollment.call("POST", f"/applications/{own['application_id']}/accept", TRAINER)
    assert (accept.status_code, accept.json()["code"]) == (403, "forbidden")
    withdrawn = await enrollment.ok("POST", f"/applications/{own['application_id']}/withdraw", mine)
    assert withdrawn["status"] == "withdrawn"
    assert (await enrollment.call("POST", "/people", mine, name="X", region="Y")).status_code == 403


async def test_a_person_finds_anothers_record_as_absent_as_an_unknown_one(
    enrollment: Enrollment,
) -> None:
    await enrollment.ok("POST", "/people", name="Self", region="York", person_id=SELF)
    other = await enrollment.person()
    await enrollment.ps101_done(other)
    theirs = await enrollment.apply(other)
    session = await enrollment.ok(
        "POST", "/ps101/sessions", starts_at="2026-10-01T13:00:00-04:00", place="x", capacity=9
    )
    mine = person_token(SELF)
    application = {"self_identifies_as_peer": True, "transport": "own_car"}
    asks = [
        ("GET", "/people/{person}", {}),
        ("GET", "/people/{person}/applications", {}),
        ("POST", f"/ps101/sessions/{session['session_id']}/registrations", {"person_id": None}),
        ("POST", "/applications", {"person_id": None, **application}),
        ("GET", "/applications/{application}", {}),
        ("POST", "/applications/{application}/withdraw", {}),
    ]
    for method, path, body in asks:
        answers = []
        for person, application_id in ((other, theirs["application_id"]), (UNKNOWN, UNKNOWN)):
            filled = {key: value or person for key, value in body.items()}
            url = path.format(person=person, application=application_id)
            answers.append(await enrollment.call(method, url, mine, **filled))
        anothers, unknown = answers
        assert (anothers.status_code, anothers.content) == (unknown.status_code, unknown.content)
        assert unknown.status_code == 404, (path, unknown.text)
        assert UNKNOWN not in unknown.text
    assert (await enrollment.ok("GET", f"/people/{other}/applications"))[0]["status"] == "submitted"


async def test_refusals_hold_no_part_of_the_id_sent(enrollment: Enrollment) -> None:
    await enrollment.ok("POST", "/people", name="Self", region="York", person_id=UNKNOWN_TOO)
    refused = [
        await enrollment.call("GET", f"/people/{UNKNOWN}"),
        await enrollment.call("GET", f"/applications/{UNKNOWN}"),
        await enrollment.call("POST", f"/applications/{UNKNOWN}/accept"),
        await enrollment.call(
            "POST", f"/ps101/sessions/{UNKNOWN}/registrations", person_id=UNKNOWN_TOO
        ),
        await enrollment.call(
            "POST", "/people", name="Another", region="York", person_id=UNKNOWN_TOO
        ),
    ]
    assert [answer.status_code for answer in refused] == [404, 404, 404, 404, 409]
    for answer in refused:
        assert not any(part in answer.text for part in ("zz-", "secret", "42")), answer.text


async def test_ride_sharing_lists_who_needs_and_offers_rides_by_region(
    enrollment: Enrollment,
) -> None:
    riders = {
        ("Cumberland", "needs_ride", False): await enrollment.person(region="Cumberland"),
        ("Cumberland", "own_car", True): await enrollment.person(region="Cumberland"),
        ("Aroostook", "needs_ride", False): await enrollment.person(region="Aroostook"),
    }
    cohort = ""
    for (_, transport, offers), person in riders.items():
        await enrollment.ps101_done(person)
        application = await enrollment.apply(person, transport=transport, offers_ride=offers)
        cohort = application["intake"]
        await enrollment.ok("POST", f"/applications/{application['application_id']}/accept")

    listing = await enrollment.ok("GET", f"/cohorts/{cohort}/ride-sharing", OPERATOR)
    assert listing == [
        {
            "region": "Aroostook",
            "needs_ride": [riders[("Aroostook", "needs_ride", False)]],
            "offers_ride": [],
        },
        {
            "region": "Cumberland",
            "needs_ride": [riders[("Cumberland", "needs_ride", False)]],
            "offers_ride": [riders[("Cumberland", "own_car", True)]],
        },
    ]


async def test_a_missed_day_made_up_in_a_later_cohort_completes_the_training(
    enrollment: Enrollment, jetstream: JetStreamContext
) -> None:
    person = await enrollment.person()
    await enrollment.ps101_done(person)
    application = await enrollment.apply(person)
    first = application["intake"]
    await enrollment.ok("POST", f"/applications/{application['application_id']}/accept")
    for day in range(1, 8):  # day 8 missed
        await enrollment.ok(
            "POST",
            f"/cohorts/{first}/attendance",
            TRAINER,
            person_id=person,
            day=day,
            attended_on=f"2027-02-0{day}",
        )
    year, season = first.split("-")
    later = f"{int(year) + 1}-{season}"
    made_up = await enrollment.ok(
        "POST",
        f"/cohorts/{later}/attendance",
        TRAINER,
        person_id=person,
        day=8,
        attended_on="2027-11-20",
    )
    assert made_up["training_completed"] is True
    found = await settled(jetstream, 12)
    assert found[-1]["type"] == "TrainingCompleted"
    assert found[-1]["data"] == {
        "person_id": person,
        "cohort_id": later,
        "completed_on": "2027-11-20",
        "region": "Cumberland",
    }

    too_late = await enrollment.person(name="Too Late")
    await enrollment.ps101_done(too_late)
    late_application = await enrollment.apply(too_late)
    await enrollment.ok("POST", f"/applications/{late_application['application_id']}/accept")
    await enrollment.ok(
        "POST",
        f"/cohorts/{first}/attendance",
        TRAINER,
        person_id=too_late,
        day=1,
        attended_on="2027-02-01",
    )
    refused = await enrollment.call(
        "POST",
        f"/cohorts/{later}/attendance",
        TRAINER,
        person_id=too_late,
        day=2,
        attended_on="2028-03-01",
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "not_in_cohort")


async def test_operators_list_a_cohort_and_people_their_own_applications(
    enrollment: Enrollment,
) -> None:
    await enrollment.ok(
        "POST",
        "/people",
        name="Self",
        region="York",
        person_id=SELF,
        phone="207-555-0100",
        preferred_channel="sms",
        sms_consent=True,
    )
    await enrollment.ps101_done(SELF)
    own = await enrollment.apply(SELF, person_token(SELF))
    listed = await enrollment.ok("GET", f"/cohorts/{own['intake']}/applications")
    assert [a["application_id"] for a in listed] == [own["application_id"]]
    mine = await enrollment.ok("GET", f"/people/{SELF}/applications", person_token(SELF))
    assert [a["status"] for a in mine] == ["submitted"]
    assert (
        await enrollment.call("GET", f"/cohorts/{own['intake']}/applications", person_token(SELF))
    ).status_code == 403

    no_consent = await enrollment.call(
        "POST",
        "/people",
        name="No Consent",
        region="York",
        phone="207-555-0101",
        preferred_channel="sms",
    )
    assert (no_consent.status_code, no_consent.json()["code"]) == (422, "invalid_request")
    assert "consent" in no_consent.json()["detail"]


COHORT_ROUTES = [
    pytest.param(
        "POST", "attendance", TRAINER, {"day": 1, "attended_on": "2028-05-01"}, id="attendance"
    ),
    pytest.param("PUT", "capacity", OPERATOR, {"capacity": 5}, id="capacity"),
    pytest.param("GET", "applications", OPERATOR, {}, id="applications"),
    pytest.param("GET", "ride-sharing", OPERATOR, {}, id="ride-sharing"),
]


@pytest.mark.parametrize(("method", "route", "token", "body"), COHORT_ROUTES)
async def test_every_cohort_route_refuses_an_id_that_is_no_intake_of_the_calendar(
    enrollment: Enrollment,
    jetstream: JetStreamContext,
    database_url: str,
    method: str,
    route: str,
    token: str,
    body: dict[str, Any],
) -> None:
    trainees_cohorts = set()
    if route == "attendance":  # a trainee, so that the cohort is compared with theirs
        person = await enrollment.person()
        await enrollment.ps101_done(person)
        application = await enrollment.apply(person)
        await enrollment.ok("POST", f"/applications/{application['application_id']}/accept")
        body, trainees_cohorts = {**body, "person_id": person}, {application["intake"]}
    emitted = len(rows(database_url, tables.Outbox))
    refusals = {
        "garbage": (422, "invalid_request"),
        "2027-Spring": (422, "invalid_request"),
        "2027-spring-" + "x" * 60: (422, "invalid_request"),
        "2027-autumn": (404, "unknown_cohort"),  # well formed, but no season of the calendar
        "0000-spring": (404, "unknown_cohort"),  # there was no year 0
    }
    for cohort_id, expected in refusals.items():
        answer = await enrollment.call(method, f"/cohorts/{cohort_id}/{route}", token, **body)
        assert (answer.status_code, answer.json().get("code")) == expected, (cohort_id, answer.text)
        assert answer.json()["detail"]
        assert cohort_id not in answer.text  # refusals never echo what was sent
    assert len(rows(database_url, tables.Outbox)) == emitted
    assert {cohort.id for cohort in rows(database_url, tables.Cohort)} == trainees_cohorts


async def test_attendance_dated_after_today_in_the_programs_time_zone_is_refused(
    enrollment: Enrollment, jetstream: JetStreamContext
) -> None:
    person = await enrollment.person()
    await enrollment.ps101_done(person)
    application = await enrollment.apply(person)
    cohort = application["intake"]
    await enrollment.ok("POST", f"/applications/{application['application_id']}/accept")
    before = len(await settled(jetstream, 3))

    for attended_on in ("2028-06-01", "2099-02-01"):
        answer = await enrollment.call(
            "POST",
            f"/cohorts/{cohort}/attendance",
            TRAINER,
            person_id=person,
            day=1,
            attended_on=attended_on,
        )
        assert (answer.status_code, answer.json().get("code")) == (422, "future_date"), answer.text
        assert attended_on not in answer.text
    assert len(await stream_events(jetstream)) == before

    today = await enrollment.ok(
        "POST",
        f"/cohorts/{cohort}/attendance",
        TRAINER,
        person_id=person,
        day=1,
        attended_on="2028-05-31",
    )
    assert today["day"] == 1
