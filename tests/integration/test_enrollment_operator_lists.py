"""The operator's daily work in enrollment: people, records, applications, cohorts and their
rosters, Peer Support 101 sessions, paper applications and the statewide summary; over
HTTP with a real nats-server, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from ips_enrollment.bootstrap import bootstrap
from ips_enrollment.db import tables
from ips_enrollment.settings import EnrollmentSettings
from ips_shared.auth import Role, token_entry

from .enrollment_flow import OPERATOR, TOKENS, TRAINER, Enrollment, person_token
from .harness import migrate_service

SELF = "p-self"
OTHER_TRAINER = "trainer-two"
# The service's clock: May 31, 2028 in the program's time zone (June 1 in UTC).
NOW = datetime(2028, 6, 1, 3, 0, tzinfo=UTC)
# Received just before and just after the end of the spring deadline day (Jan 15, New York).
LAST_MOMENT = "2027-01-15T23:59:59.999-05:00"
FIRST_MOMENT_AFTER = "2027-01-16T00:00:00-05:00"


@pytest.fixture
async def enrollment(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> AsyncIterator[Enrollment]:
    migrate_service(database_url, tables)
    tokens = {
        **TOKENS,
        OTHER_TRAINER: token_entry(OTHER_TRAINER, Role.TRAINER),
        person_token(SELF): token_entry(person_token(SELF), Role.PERSON, SELF),
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


async def listed(enrollment: Enrollment, path: str, token: str = OPERATOR) -> dict[str, Any]:
    return await enrollment.ok("GET", path, token)  # type: ignore[no-any-return]


async def names(enrollment: Enrollment, query: str) -> list[str]:
    return [item["name"] for item in (await listed(enrollment, f"/people?{query}"))["items"]]


async def csv_rows(
    enrollment: Enrollment, path: str, token: str = OPERATOR
) -> list[dict[str, str]]:
    answer = await enrollment.call("GET", path, token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(answer.text)))


async def accepted(enrollment: Enrollment, person: str, received_at: str) -> dict[str, Any]:
    application = await enrollment.apply(person, received_at=received_at)
    return await enrollment.ok(  # type: ignore[no-any-return]
        "POST", f"/applications/{application['application_id']}/accept"
    )


async def attend(enrollment: Enrollment, cohort: str, person: str, days: list[int]) -> None:
    for day in days:
        await enrollment.ok(
            "POST",
            f"/cohorts/{cohort}/attendance",
            TRAINER,
            person_id=person,
            day=day,
            attended_on=date(2027, 2, day).isoformat(),
        )


async def refused(
    enrollment: Enrollment, path: str, expected: dict[str, tuple[int, str]], method: str = "GET"
) -> None:
    """Each token (or none) is answered with the status and code expected."""
    for token, (status, code) in expected.items():
        answer = (
            await enrollment.client.request(method, path)
            if token == "anonymous"
            else await enrollment.call(method, path, token)
        )
        assert (answer.status_code, answer.json()["code"]) == (status, code), (token, answer.text)


NOT_FOR_TRAINERS_OR_PEOPLE = {
    "anonymous": (401, "unauthorized"),
    TRAINER: (403, "forbidden"),
    person_token(SELF): (403, "forbidden"),
}


async def test_people_are_found_by_name_region_and_progress_page_by_page(
    enrollment: Enrollment,
) -> None:
    ann = await enrollment.person(name="Ann Alder", region="York")
    await enrollment.person(name="bob Birch", region="York")
    cara = await enrollment.person(name="Cara Cedar", region="Cumberland")
    await enrollment.person(name="Dan 100%_Oak", region="Aroostook")
    for person in (ann, cara):
        await enrollment.ps101_done(person)
    await enrollment.apply(ann, received_at="2027-01-10T12:00:00-05:00")
    await accepted(enrollment, cara, "2027-01-10T12:00:00-05:00")
    await attend(enrollment, "2027-spring", cara, list(range(1, 9)))

    assert await names(enrollment, "name=ann") == ["Ann Alder"]
    assert await names(enrollment, "name=AN") == ["Ann Alder", "Dan 100%_Oak"]
    assert await names(enrollment, "name=%25_") == ["Dan 100%_Oak"]  # `%_` is itself
    assert await names(enrollment, "region=york") == ["Ann Alder", "bob Birch"]
    assert await names(enrollment, "completed_ps101=true") == ["Ann Alder", "Cara Cedar"]
    assert await names(enrollment, "completed_ps101=false") == ["bob Birch", "Dan 100%_Oak"]
    assert await names(enrollment, "applied=true") == ["Ann Alder", "Cara Cedar"]
    assert await names(enrollment, "trained=true") == ["Cara Cedar"]
    assert await names(enrollment, "applied=true&trained=false") == ["Ann Alder"]
    assert await names(enrollment, "trained_from=2027-02-08&trained_to=2027-02-08") == [
        "Cara Cedar"
    ]
    assert await names(enrollment, "trained_from=2027-02-09") == []

    first = await listed(enrollment, "/people?page_size=3")
    second = await listed(enrollment, "/people?page_size=3&page=2")
    assert (first["total"], first["page"], first["page_size"]) == (4, 1, 3)
    assert [p["name"] for p in first["items"] + second["items"]] == [
        "Ann Alder",
        "bob Birch",
        "Cara Cedar",
        "Dan 100%_Oak",
    ]
    cara_row = next(p for p in first["items"] if p["person_id"] == cara)
    assert cara_row["training_completed_on"] == "2027-02-08"
    assert (cara_row["applications"], cara_row["latest_intake"]) == (1, "2027-spring")

    exported = await csv_rows(enrollment, "/people?format=csv&region=YORK&page_size=1")
    assert [row["name"] for row in exported] == ["Ann Alder", "bob Birch"]  # every row
    assert exported[0]["ps101_completed_on"] == "2026-10-01"
    assert exported[1]["ps101_completed_on"] == ""

    await refused(enrollment, "/people", NOT_FOR_TRAINERS_OR_PEOPLE)
    for bad in ("page=0", "page_size=501", "format=xml", "completed_ps101=perhaps"):
        answer = await enrollment.call("GET", f"/people?{bad}")
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request"), bad
    backwards = await enrollment.call(
        "GET", "/people?registered_from=2028-01-02&registered_to=2028-01-01"
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")
    assert "2028-01-0" not in backwards.text


async def test_one_persons_whole_record_for_an_operator_and_for_themself(
    enrollment: Enrollment,
) -> None:
    await enrollment.ok("POST", "/people", name="Self", region="York", person_id=SELF)
    other = await enrollment.person(name="Other")
    await enrollment.ps101_done(SELF)
    application = await accepted(enrollment, SELF, "2027-01-10T12:00:00-05:00")
    await attend(enrollment, "2027-spring", SELF, [1, 2, 3, 4, 5, 6, 8])  # day 7 missed

    mine = await enrollment.ok("GET", f"/people/{SELF}/record", person_token(SELF))
    assert mine == await enrollment.ok("GET", f"/people/{SELF}/record")
    assert (mine["name"], mine["region"], mine["email"]) == ("Self", "York", None)
    assert [(p["completed_on"], p["place"]) for p in mine["ps101"]] == [("2026-10-01", "online")]
    assert [(a["application_id"], a["intake"], a["status"]) for a in mine["applications"]] == [
        (application["application_id"], "2027-spring", "accepted")
    ]
    assert mine["applications"][0]["keyed_by"] == OPERATOR
    assert [a["day"] for a in mine["attendance"]] == [1, 2, 3, 4, 5, 6, 8]
    assert mine["training"] is None
    assert mine["make_up"] == {"missed_days": [7], "due_by": "2028-02-01", "needed": True}

    for token, status in ((person_token(SELF), 404), (TRAINER, 403)):
        answer = await enrollment.call("GET", f"/people/{other}/record", token)
        assert answer.status_code == status, (token, answer.text)
    unknown = await enrollment.call("GET", "/people/nobody-here/record")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_person")
    assert "nobody-here" not in unknown.text


async def test_cohorts_by_intake_with_seats_waitlist_schedule_and_their_trainers(
    enrollment: Enrollment,
) -> None:
    spring = [await enrollment.person(name=f"Spring {n}") for n in range(3)]
    summer = await enrollment.person(name="Summer")
    for person in [*spring, summer]:
        await enrollment.ps101_done(person)
    await enrollment.ok("PUT", "/cohorts/2027-spring/capacity", capacity=1)
    for person in spring[:2]:
        await accepted(enrollment, person, "2027-01-02T09:00:00-05:00")  # 1 seat, 1 waitlisted
    await enrollment.apply(spring[2], received_at="2027-01-03T09:00:00-05:00")
    await enrollment.apply(summer, received_at=FIRST_MOMENT_AFTER)
    await enrollment.ok(
        "PUT",
        "/cohorts/2027-spring/schedule",
        place="Augusta",
        days=[
            {
                "day": d,
                "starts_at": f"2027-02-0{d}T09:00:00-05:00",
                "ends_at": f"2027-02-0{d}T16:00:00-05:00",
            }
            for d in (1, 2)
        ],
    )

    cohorts = await listed(enrollment, "/cohorts?year=2027")
    assert cohorts["total"] == 2
    first, second = cohorts["items"]
    assert {k: first[k] for k in ("cohort_id", "capacity", "seats_taken", "waitlist")} == {
        "cohort_id": "2027-spring",
        "capacity": 1,
        "seats_taken": 1,
        "waitlist": 1,
    }
    assert (first["applications"], first["place"], first["deadline"]) == (
        3,
        "Augusta",
        "2027-01-15",
    )
    assert first["first_day"].startswith("2027-02-01T14:00:00")
    assert first["last_day"].startswith("2027-02-02T14:00:00")
    assert (second["cohort_id"], second["capacity"], second["seats_taken"]) == (
        "2027-summer",
        20,
        0,
    )
    assert second["place"] is None
    only_summer = await listed(enrollment, "/cohorts?season=summer")
    assert [c["cohort_id"] for c in only_summer["items"]] == ["2027-summer"]
    assert (await listed(enrollment, "/cohorts?year=2028"))["total"] == 0
    paged = await listed(enrollment, "/cohorts?page_size=1&page=2")
    assert (paged["total"], [c["cohort_id"] for c in paged["items"]]) == (2, ["2027-summer"])

    assert (await listed(enrollment, "/cohorts", TRAINER))["total"] == 0
    assigned = await enrollment.ok("PUT", "/cohorts/2027-summer/trainers", trainers=[TRAINER])
    assert assigned == {"trainers": [TRAINER]}
    theirs = await listed(enrollment, f"/cohorts?trainer={OTHER_TRAINER}", TRAINER)
    assert [c["cohort_id"] for c in theirs["items"]] == ["2027-summer"]  # their own, whatever asked
    assert [c["trainers"] for c in (await listed(enrollment, "/cohorts"))["items"]] == [
        [],
        [TRAINER],
    ]
    by_trainer = await listed(enrollment, f"/cohorts?trainer={OTHER_TRAINER}")
    assert by_trainer["total"] == 0

    not_a_trainer = await enrollment.call(
        "PUT", "/cohorts/2027-summer/trainers", trainers=[OPERATOR]
    )
    assert (not_a_trainer.status_code, not_a_trainer.json()["code"]) == (422, "unknown_trainer")
    assert OPERATOR not in not_a_trainer.text
    await refused(
        enrollment,
        "/cohorts",
        {"anonymous": (401, "unauthorized"), person_token(SELF): (403, "forbidden")},
    )

    exported = await csv_rows(enrollment, "/cohorts?format=csv&page_size=1")
    assert [(r["cohort_id"], r["seats_taken"], r["waitlist"], r["trainers"]) for r in exported] == [
        ("2027-spring", "1", "1", ""),
        ("2027-summer", "0", "0", TRAINER),
    ]


async def test_a_cohorts_roster_shows_days_attended_and_who_must_make_up_a_day_by_when(
    enrollment: Enrollment,
) -> None:
    done, missed_one, absent = [
        await enrollment.person(name=name) for name in ("Ada Done", "Ben Missed", "Cy Absent")
    ]
    for person in (done, missed_one, absent):
        await enrollment.ps101_done(person)
        await accepted(enrollment, person, "2027-01-02T09:00:00-05:00")
    await enrollment.ok(
        "PUT",
        "/cohorts/2027-spring/schedule",
        place="Augusta",
        days=[
            {
                "day": d,
                "starts_at": f"2027-02-0{d}T09:00:00-05:00",
                "ends_at": f"2027-02-0{d}T16:00:00-05:00",
            }
            for d in range(1, 9)
        ],
    )
    await attend(enrollment, "2027-spring", done, list(range(1, 9)))
    await attend(enrollment, "2027-spring", missed_one, [1, 2, 3, 4, 5, 6, 8])

    roster = await listed(enrollment, "/cohorts/2027-spring/roster")
    assert [(r["name"], r["accepted"]) for r in roster["items"]] == [
        ("Ada Done", True),
        ("Ben Missed", True),
        ("Cy Absent", True),
    ]
    ada, ben, cy = roster["items"]
    assert ada["training_completed_on"] == "2027-02-08"
    assert ada["make_up"] == {"missed_days": [], "due_by": None, "needed": False}
    assert ben["make_up"] == {"missed_days": [7], "due_by": "2028-02-01", "needed": True}
    assert [d["day"] for d in ben["days"]] == [1, 2, 3, 4, 5, 6, 8]
    assert cy["make_up"]["needed"] is False  # never began: nothing to make up
    makeup = await listed(enrollment, "/cohorts/2027-spring/roster?needs_makeup=true")
    assert [r["name"] for r in makeup["items"]] == ["Ben Missed"]
    rest = await listed(enrollment, "/cohorts/2027-spring/roster?needs_makeup=false&page_size=1")
    assert (rest["total"], [r["name"] for r in rest["items"]]) == (2, ["Ada Done"])

    exported = await csv_rows(enrollment, "/cohorts/2027-spring/roster?format=csv")
    assert [r["name"] for r in exported] == ["Ada Done", "Ben Missed", "Cy Absent"]
    ben_row = exported[1]
    assert (ben_row["day_6"], ben_row["day_7"], ben_row["day_8"]) == (
        "2027-02-06",
        "",
        "2027-02-08",
    )
    assert (ben_row["needs_makeup"], ben_row["missed_days"], ben_row["makeup_due_by"]) == (
        "true",
        "7",
        "2028-02-01",
    )

    not_theirs = await enrollment.call("GET", "/cohorts/2027-spring/roster", TRAINER)
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (403, "not_assigned")
    await enrollment.ok("PUT", "/cohorts/2027-spring/trainers", trainers=[TRAINER])
    assert (await listed(enrollment, "/cohorts/2027-spring/roster", TRAINER))["total"] == 3
    await refused(
        enrollment,
        "/cohorts/2027-spring/roster",
        {
            "anonymous": (401, "unauthorized"),
            person_token(SELF): (403, "forbidden"),
            OTHER_TRAINER: (403, "not_assigned"),
        },
    )
    unknown = await enrollment.call("GET", "/cohorts/2027-autumn/roster")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_cohort")


async def test_peer_support_101_sessions_with_registrations_trainers_see_theirs(
    enrollment: Enrollment,
) -> None:
    people = [await enrollment.person(name=f"P{n}") for n in range(3)]
    made = []
    for starts_at, place, online in (
        ("2027-03-01T13:00:00-05:00", "Portland Library", False),
        ("2027-03-02T13:00:00-05:00", "online", True),
        ("2027-04-01T13:00:00-04:00", "Bangor Center", False),
    ):
        made.append(
            await enrollment.ok(
                "POST",
                "/ps101/sessions",
                starts_at=starts_at,
                place=place,
                online=online,
                capacity=10,
            )
        )
    first = made[0]["session_id"]
    for person in people:
        await enrollment.ok("POST", f"/ps101/sessions/{first}/registrations", person_id=person)
    await enrollment.ok(
        "POST",
        f"/ps101/sessions/{first}/completions",
        TRAINER,
        person_id=people[0],
        completed_on="2027-03-01",
    )

    sessions = await listed(enrollment, "/ps101/sessions")
    assert [s["place"] for s in sessions["items"]] == [
        "Portland Library",
        "online",
        "Bangor Center",
    ]
    assert (sessions["items"][0]["registrations"], sessions["items"][0]["completions"]) == (3, 1)
    march = await listed(enrollment, "/ps101/sessions?starts_from=2027-03-01&starts_to=2027-03-31")
    assert march["total"] == 2
    assert (await listed(enrollment, "/ps101/sessions?online=true"))["items"][0][
        "place"
    ] == "online"
    assert (await listed(enrollment, "/ps101/sessions?place=LIBRARY"))["total"] == 1
    assert (await listed(enrollment, "/ps101/sessions?page_size=2&page=2"))["items"][0][
        "place"
    ] == "Bangor Center"

    assert (await listed(enrollment, "/ps101/sessions", TRAINER))["total"] == 0
    await enrollment.ok("PUT", f"/ps101/sessions/{first}/trainers", trainers=[TRAINER])
    theirs = await listed(enrollment, "/ps101/sessions", TRAINER)
    assert [(s["session_id"], s["trainers"]) for s in theirs["items"]] == [(first, [TRAINER])]
    assert (await listed(enrollment, "/ps101/sessions", OTHER_TRAINER))["total"] == 0
    unknown = await enrollment.call("PUT", "/ps101/sessions/nope/trainers", trainers=[TRAINER])
    assert unknown.status_code == 404

    exported = await csv_rows(enrollment, "/ps101/sessions?format=csv&online=false")
    assert [(r["place"], r["registrations"], r["trainers"]) for r in exported] == [
        ("Portland Library", "3", TRAINER),
        ("Bangor Center", "0", ""),
    ]
    await refused(
        enrollment,
        "/ps101/sessions",
        {"anonymous": (401, "unauthorized"), person_token(SELF): (403, "forbidden")},
    )


async def test_a_paper_application_joins_the_intake_of_the_day_it_was_received(
    enrollment: Enrollment, database_url: str
) -> None:
    await enrollment.ok("POST", "/people", name="Self", region="York", person_id=SELF)
    on_time, late, utc_on_time = [await enrollment.person(name=n) for n in ("On", "Late", "Utc")]
    for person in (SELF, on_time, late, utc_on_time):
        await enrollment.ps101_done(person)

    before = await enrollment.apply(on_time, received_at=LAST_MOMENT)
    after = await enrollment.apply(late, submitted_at=FIRST_MOMENT_AFTER)  # the other name
    # 04:59 UTC on Jan 16 is still Jan 15 in the program's time zone.
    in_utc = await enrollment.apply(utc_on_time, received_at="2027-01-16T04:59:59Z")
    assert (before["intake"], after["intake"], in_utc["intake"]) == (
        "2027-spring",
        "2027-summer",
        "2027-spring",
    )
    assert datetime.fromisoformat(before["submitted_at"]) == datetime.fromisoformat(LAST_MOMENT)
    assert before["keyed_by"] == OPERATOR

    trail = await enrollment.ok("GET", f"/audit?person_id={on_time}")
    keyed = [e for e in trail["entries"] if e["action"] == "key paper application"]
    assert [(e["actor"], e["role"]) for e in keyed] == [(OPERATOR, "operator")]
    assert before["application_id"] in keyed[0]["record"]
    assert "2027-spring" in keyed[0]["record"]

    for field in ("received_at", "submitted_at"):
        backdated = await enrollment.call(
            "POST",
            "/applications",
            person_token(SELF),
            person_id=SELF,
            self_identifies_as_peer=True,
            transport="own_car",
            **{field: LAST_MOMENT},
        )
        assert (backdated.status_code, backdated.json()["code"]) == (403, "operators_only")
    assert await enrollment.ok("GET", f"/people/{SELF}/applications", person_token(SELF)) == []

    future = await enrollment.call(
        "POST",
        "/applications",
        person_id=SELF,
        self_identifies_as_peer=True,
        transport="own_car",
        received_at="2028-06-01T03:00:01Z",
    )
    assert (future.status_code, future.json()["code"]) == (422, "future_date")
    assert "2028-06-01" not in future.text
    naive = await enrollment.call(
        "POST",
        "/applications",
        person_id=SELF,
        self_identifies_as_peer=True,
        transport="own_car",
        received_at="2027-01-15T12:00:00",
    )
    assert (naive.status_code, naive.json()["code"]) == (422, "invalid_request")
    last_allowed = await enrollment.apply(SELF, received_at="2028-06-01T03:00:00Z")
    assert last_allowed["intake"] == "2028-fall"  # May 31: after the May 1 deadline


async def test_the_summary_report_equals_what_the_lists_count_for_the_same_filters(
    enrollment: Enrollment,
) -> None:
    people = {}
    for name, region in (
        ("A", "York"),
        ("B", "York"),
        ("C", "Cumberland"),
        ("D", "Cumberland"),
        ("E", "Aroostook"),
        ("F", "Aroostook"),
    ):
        people[name] = await enrollment.person(name=name, region=region)
        await enrollment.ps101_done(people[name])
    await enrollment.ok("PUT", "/cohorts/2027-spring/capacity", capacity=2)
    applications = {
        name: await enrollment.apply(people[name], received_at=received)
        for name, received in (
            ("A", "2027-01-02T10:00:00-05:00"),
            ("B", "2027-01-03T10:00:00-05:00"),
            ("C", "2027-01-04T10:00:00-05:00"),
            ("D", LAST_MOMENT),
            ("E", FIRST_MOMENT_AFTER),
            ("F", "2027-03-01T10:00:00-05:00"),
        )
    }

    async def act(name: str, action: str, **body: Any) -> None:
        await enrollment.ok(
            "POST", f"/applications/{applications[name]['application_id']}/{action}", **body
        )

    for name in ("A", "B", "C"):
        await act(name, "accept")  # A and B seated, C waitlisted
    await act("D", "decline", reason_code="not_eligible")
    await act("E", "withdraw")
    await attend(enrollment, "2027-spring", people["A"], list(range(1, 9)))

    periods = [
        ("2027-01-01", "2028-05-31"),
        ("2027-01-16", "2027-12-31"),
        ("2027-01-03", "2027-01-15"),
    ]
    for first, last in periods:
        summary = await listed(enrollment, f"/reports/summary?from={first}&to={last}")
        assert (summary["first"], summary["last"]) == (first, last)

        async def total(path: str) -> int:
            return int((await listed(enrollment, path))["total"])

        received = f"received_from={first}&received_to={last}"
        intakes = (await listed(enrollment, "/cohorts?page_size=500"))["items"]
        reported = {counts["intake"]: counts for counts in summary["applications"]}
        for cohort in intakes:
            intake = cohort["cohort_id"]
            counts = reported.get(intake, {})
            assert counts.get("received", 0) == await total(
                f"/applications?intake={intake}&{received}"
            )
            for status in ("submitted", "accepted", "waitlisted", "declined", "withdrawn"):
                assert counts.get(status, 0) == await total(
                    f"/applications?intake={intake}&status={status}&{received}"
                ), (first, last, intake, status)
        assert summary["trainings_completed"] == await total(
            f"/people?trained_from={first}&trained_to={last}"
        )
        by_region = {r["region"]: r for r in summary["people_by_region"]}
        for region in ("York", "Cumberland", "Aroostook"):
            counts = by_region.get(region, {})
            assert counts.get("registered", 0) == await total(
                f"/people?region={region}&registered_from={first}&registered_to={last}"
            )
            assert counts.get("trained", 0) == await total(
                f"/people?region={region}&trained_from={first}&trained_to={last}"
            )

    whole = await listed(enrollment, "/reports/summary?from=2027-01-01&to=2028-05-31")
    assert [
        (c["intake"], c["received"], c["accepted"], c["waitlisted"]) for c in whole["applications"]
    ] == [
        ("2027-spring", 4, 2, 1),
        ("2027-summer", 2, 0, 0),
    ]
    assert whole["trainings_completed"] == 1
    assert {r["region"]: (r["registered"], r["trained"]) for r in whole["people_by_region"]} == {
        "Aroostook": (2, 0),
        "Cumberland": (2, 0),
        "York": (2, 1),
    }
    spring_only = await listed(enrollment, "/reports/summary?from=2027-01-03&to=2027-01-15")
    assert [(c["intake"], c["received"]) for c in spring_only["applications"]] == [
        ("2027-spring", 3)
    ]
    assert spring_only["people_by_region"] == []  # registered on 2028-05-31 (the clock)

    exported = await csv_rows(
        enrollment, "/reports/summary?from=2027-01-01&to=2028-05-31&format=csv"
    )
    from_csv = {
        (r["section"], r["intake"], r["region"], r["measure"]): int(r["value"]) for r in exported
    }
    assert from_csv[("applications", "2027-spring", "", "received")] == 4
    assert from_csv[("applications", "2027-summer", "", "withdrawn")] == 1
    assert from_csv[("trainings", "", "", "completed")] == 1
    assert from_csv[("people", "", "York", "trained")] == 1

    backwards = await enrollment.call("GET", "/reports/summary?from=2027-02-01&to=2027-01-01")
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")
    missing = await enrollment.call("GET", "/reports/summary?from=2027-02-01")
    assert (missing.status_code, missing.json()["code"]) == (422, "invalid_request")
    await refused(
        enrollment, "/reports/summary?from=2027-01-01&to=2027-12-31", NOT_FOR_TRAINERS_OR_PEOPLE
    )
    await refused(enrollment, "/applications", NOT_FOR_TRAINERS_OR_PEOPLE)
