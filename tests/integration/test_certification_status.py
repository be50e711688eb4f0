"""Certification status over time through a real nats-server, on SQLite and PostgreSQL.

The service's clock is a calendar the test turns: years pass in seconds, the scheduler
moves people when their dates come, and every change reaches the stream once."""

from __future__ import annotations

import asyncio
import json
import time as monotonic
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from nats.js import JetStreamContext

from ips_certification.bootstrap import bootstrap
from ips_certification.db import tables
from ips_certification.settings import CertificationSettings
from ips_shared.contracts import streams
from ips_shared.contracts.events import HoursCategory
from ips_shared.messaging.streams import declare_streams

from .harness import eventually, migrate_service, rows
from .test_hours_ledger import TOKENS, hours, send, trained

ZONE = ZoneInfo("America/New_York")
TRAINED_ON = date(2026, 3, 10)
FIRST_YEAR_ENDS = date(2027, 3, 10)  # certified on this day when the first year was met
CE, SB = HoursCategory.CONTINUING_EDUCATION, HoursCategory.SKILL_BUILDING


class Calendar:
    """The service's clock: a date the test sets, with real seconds ticking within it
    (so that what was recorded after an evaluation is seen as later)."""

    def __init__(self, today: date) -> None:
        self.today = today
        self._started = monotonic.monotonic()

    def __call__(self) -> datetime:
        elapsed = timedelta(seconds=monotonic.monotonic() - self._started)
        return datetime.combine(self.today, time(9), tzinfo=ZONE) + elapsed


@dataclass
class Certification:
    client: httpx.AsyncClient
    calendar: Calendar
    service: Any  # ips_certification.bootstrap.Certification
    database_url: str

    async def turn_to(self, day: date) -> None:
        """Set the date and wait until the scheduler has brought everyone up to it."""
        self.calendar.today = day
        self.service.scheduler.wake()
        await eventually(
            lambda: all(
                s.next_check_on is None or s.next_check_on > day
                for s in rows(self.database_url, tables.StandingRow)
            )
        )

    async def report_year(
        self, js: JetStreamContext, person_id: str, on: date, continuing_education: str = "8"
    ) -> list[str]:
        """A trainer reports a year's hours, all dated `on`, and the ledger takes them."""
        events = [
            hours(person_id, continuing_education, category=CE, on=on, source="trainer/t-1"),
            hours(person_id, "12", category=SB, on=on, source="trainer/t-1"),
        ]
        before = len(rows(self.database_url, tables.HoursEntry))
        for event in events:
            await send(js, event)
        await eventually(lambda: len(rows(self.database_url, tables.HoursEntry)) == before + 2)
        return [event.id for event in events]

    def call(self, method: str, path: str, token: str, **body: Any) -> Any:
        headers = {"authorization": f"Bearer {token}"}
        return self.client.request(method, path, json=body or None, headers=headers)

    def history(self, person_id: str) -> list[tuple[str | None, str, str, date]]:
        return [
            (c.old_status, c.new_status, c.reason_code, c.effective_on)
            for c in sorted(rows(self.database_url, tables.StatusChange), key=lambda c: c.id or 0)
            if c.person_id == person_id
        ]


@pytest.fixture
async def certification(
    jetstream: JetStreamContext,
    database_url: str,
    nats_url: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> AsyncIterator[Certification]:
    await declare_streams(jetstream, [streams.ENROLLMENT])
    migrate_service(database_url, tables)
    calendar = Calendar(TRAINED_ON)
    policy_file = None
    if marker := request.node.get_closest_marker("policy"):
        policy_file = tmp_path / "policy.toml"
        policy_file.write_text(marker.args[0])
    settings = CertificationSettings(
        policy_file=policy_file,
        database_url=database_url,
        nats_url=nats_url,
        relay_poll_seconds=0.05,
        scheduler_poll_seconds=30,  # the test wakes it; the interval must not be needed
        scheduler_settle_seconds=0.01,
        api_tokens=TOKENS,
    )
    service = bootstrap(settings, clock=calendar)
    app = service.http_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://c") as client,
    ):
        yield Certification(client, calendar, service, database_url)


async def published(
    js: JetStreamContext, event_type: str, expected: int | None = None
) -> list[dict[str, Any]]:
    """The events of one type on the certification stream, in order (once `expected`
    of them arrived)."""
    if expected is not None:

        async def arrived() -> bool:
            return len(await published(js, event_type)) >= expected

        await eventually(arrived)
    info = await js.stream_info(streams.CERTIFICATION.name)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        envelope = json.loads((await js.get_msg(streams.CERTIFICATION.name, sequence)).data)
        if envelope["type"] == event_type:
            found.append(envelope)
    return found if info.state.messages else []


async def test_years_of_a_specialist_from_training_to_lapse_and_reinstatement(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    completion = trained("p-1", TRAINED_ON)
    await send(jetstream, completion)
    await eventually(lambda: bool(certification.history("p-1")))
    assert certification.history("p-1") == [(None, "trained", "training_completed", TRAINED_ON)]

    await certification.turn_to(date(2026, 9, 1))
    await certification.report_year(jetstream, "p-1", date(2026, 6, 1))
    await eventually(lambda: len(rows(certification.database_url, tables.HoursEntry)) == 2)
    await certification.turn_to(FIRST_YEAR_ENDS - timedelta(days=1))
    assert len(certification.history("p-1")) == 1  # not before the year has passed
    await certification.turn_to(FIRST_YEAR_ENDS)
    [certificate] = rows(certification.database_url, tables.Certificate)
    assert certificate.number == f"ME-2027-{certificate.id:06d}"

    # Year 1 (2027-03-10 .. 2028-03-09) passes without hours: at risk 60 days before its
    # end (2028 is a leap year), lapsed 30 days after it.
    await certification.turn_to(date(2028, 1, 10))
    await certification.turn_to(date(2028, 4, 9))
    assert certification.history("p-1")[1:] == [
        ("trained", "certified", "first_year_met", FIRST_YEAR_ENDS),
        ("certified", "at_risk", "hours_short_near_year_end", date(2028, 1, 10)),
        ("at_risk", "lapsed", "year_ended_unmet", date(2028, 4, 9)),
    ]

    # The missing hours, dated in year 1, arrive late: reinstated, with them as the cause.
    late = [
        hours("p-1", "8", category=CE, on=date(2027, 11, 5), source="trainer/t-1"),
        hours("p-1", "12", category=SB, on=date(2028, 3, 9), source="trainer/t-1"),
    ]
    for event in late:
        await send(jetstream, event)
    await eventually(lambda: len(certification.history("p-1")) == 5)
    assert certification.history("p-1")[-1] == (
        "lapsed",
        "certified",
        "reinstated",
        date(2028, 4, 9),
    )
    [*_, reinstated] = await published(jetstream, "CertificationStatusChanged", expected=5)
    # Named: the reports that arrived since the last evaluation (both, or the second).
    assert reinstated["data"]["caused_by"]
    assert set(reinstated["data"]["caused_by"]) <= {event.id for event in late}

    changes = await published(jetstream, "CertificationStatusChanged")
    assert [c["data"]["new_status"] for c in changes] == [
        "trained",
        "certified",
        "at_risk",
        "lapsed",
        "certified",
    ]
    assert changes[0]["data"]["caused_by"] == [completion.id]
    assert changes[1]["data"]["certificate_number"] == certificate.number
    assert {c["data"]["policy_version"] for c in changes} == {"maine-2026.1"}
    # At risk for hours: what is missing and when the year ends, for the person to be told.
    assert changes[2]["data"]["shortfall"] == [
        {"requirement": "continuing_education", "missing": "8", "unit": "hours"},
        {"requirement": "skill_building", "missing": "12", "unit": "hours"},
    ]
    assert changes[2]["data"]["year_ends_on"] == "2028-03-10"
    assert changes[3]["data"]["shortfall"] == [] and changes[3]["data"]["year_ends_on"] is None

    # The explanation: the person sees their own, not someone else's.
    response = await certification.call("GET", "/people/p-1/status", "p1")
    assert response.status_code == 200, response.text
    explained = response.json()
    assert explained["status"] == "certified"
    assert explained["certificate_number"] == certificate.number
    assert explained["certified_since"] == "2027-03-10"
    assert (explained["period_first_day"], explained["period_last_day"]) == (
        "2028-03-10",
        "2029-03-09",
    )
    assert explained["next_review_due"] == "2029-03-10"
    skill = next(r for r in explained["requirements"] if r["name"] == "skill_building")
    assert (skill["counted"], skill["required"], skill["met"]) == ("0.00", "12.00", False)
    assert skill["summary"] == "skill_building: 0 of 12 hours, 335 days left"
    assert [h["new_status"] for h in explained["history"]] == [
        "trained",
        "certified",
        "at_risk",
        "lapsed",
        "certified",
    ]
    assert (await certification.call("GET", "/people/p-2/status", "p1")).status_code == 404


async def test_a_review_due_at_the_years_end_is_noticed_once_and_its_recording_reinstates(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    await send(jetstream, trained("p-1", TRAINED_ON))
    await eventually(lambda: bool(certification.history("p-1")))
    for reported, activity in (
        (date(2026, 9, 1), date(2026, 6, 1)),
        (date(2027, 9, 1), date(2027, 6, 1)),
        (date(2028, 9, 1), date(2028, 6, 1)),
    ):
        await certification.turn_to(reported)
        await certification.report_year(jetstream, "p-1", activity)
    await eventually(lambda: len(rows(certification.database_url, tables.HoursEntry)) == 6)

    # The review falls due on 2029-03-10, the day year 2 ends: noticed and at risk 60
    # days before, overdue on the day, lapsed after the grace period.
    await certification.turn_to(date(2029, 1, 9))
    await certification.turn_to(date(2029, 3, 10))
    await certification.turn_to(date(2029, 4, 9))
    assert certification.history("p-1")[1:] == [
        ("trained", "certified", "first_year_met", FIRST_YEAR_ENDS),
        ("certified", "at_risk", "review_due_by_year_end", date(2029, 1, 9)),
        ("at_risk", "lapsed", "review_overdue", date(2029, 4, 9)),
    ]
    [notice] = await published(jetstream, "ReviewDue", expected=1)
    assert notice["data"] == {"person_id": "p-1", "due_date": "2029-03-10"}

    # Another scheduler (a restart, or a second replica) finds everyone up to date.
    again = bootstrap(certification.service.runtime.settings, clock=certification.calendar)
    again_app = again.http_app()
    async with again_app.router.lifespan_context(again_app):
        assert await asyncio.to_thread(again.scheduler.run_pass) == 0
    assert len(await published(jetstream, "ReviewDue")) == 1
    assert len(await published(jetstream, "CertificationStatusChanged", expected=4)) == 4

    refused = await certification.call(
        "POST",
        "/people/p-1/reviews",
        "trainer",
        reviewed_on="2029-04-09",
        outcome="affirmed",
        reason="annual check-in",
    )
    assert refused.status_code == 403
    future = await certification.call(
        "POST",
        "/people/p-1/reviews",
        "op",
        reviewed_on="2029-05-01",
        outcome="affirmed",
        reason="annual check-in",
    )
    assert (future.status_code, future.json()["code"]) == (422, "invalid_review")
    recorded = await certification.call(
        "POST",
        "/people/p-1/reviews",
        "op",
        reviewed_on="2029-04-09",
        outcome="affirmed",
        reason="annual check-in",
    )
    assert recorded.status_code == 201, recorded.text
    assert certification.history("p-1")[-1] == (
        "lapsed",
        "certified",
        "reinstated",
        date(2029, 4, 9),
    )
    [completed] = await published(jetstream, "ReviewCompleted", expected=1)
    assert completed["id"] == recorded.json()["event_id"]
    assert completed["data"]["outcome"] == "affirmed"
    status = (await certification.call("GET", "/people/p-1/status", "op")).json()
    assert status["next_review_due"] == "2031-04-09"
    audit = [a for a in rows(certification.database_url, tables.OperatorAction)]
    assert [(a.action, a.actor, a.reason) for a in audit] == [
        ("record_review_affirmed", "Dana at OBH", "annual check-in")
    ]


async def test_operators_suspend_withdraw_and_reinstate_with_an_audit_trail(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    await send(jetstream, trained("p-1", TRAINED_ON))
    await eventually(lambda: bool(certification.history("p-1")))

    async def decide(action: str, token: str = "op") -> httpx.Response:
        return await certification.call(
            "POST", f"/people/p-1/{action}", token, reason="a reason given"
        )

    assert (await decide("suspend", "trainer")).status_code == 403
    not_held = await decide("reinstate")
    assert (not_held.status_code, not_held.json()["code"]) == (409, "invalid_decision")
    assert (await decide("suspend")).json()["status"] == "suspended"
    again = await decide("suspend")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_decision")
    assert (await decide("withdraw")).json()["status"] == "withdrawn"
    assert (await decide("reinstate")).json()["status"] == "trained"
    missing = await certification.call("POST", "/people/p-404/suspend", "op", reason="a reason")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    assert [(old, new, reason) for old, new, reason, _ in certification.history("p-1")] == [
        (None, "trained", "training_completed"),
        ("trained", "suspended", "operator_suspended"),
        ("suspended", "withdrawn", "operator_withdrew"),
        ("withdrawn", "trained", "operator_reinstated"),
    ]
    assert [
        (a.action, a.target, a.actor)
        for a in rows(certification.database_url, tables.OperatorAction)
    ] == [
        ("suspend", "p-1", "Dana at OBH"),
        ("withdraw", "p-1", "Dana at OBH"),
        ("reinstate", "p-1", "Dana at OBH"),
    ]
    assert len(await published(jetstream, "CertificationStatusChanged", expected=4)) == 4


async def test_what_if_names_whose_status_a_draft_would_change_and_changes_nothing(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    for person in ("p-1", "p-2"):
        await send(jetstream, trained(person, TRAINED_ON))
    await eventually(lambda: len(rows(certification.database_url, tables.StandingRow)) == 2)
    await certification.turn_to(date(2026, 9, 1))
    for person, continuing_education in (("p-1", "8"), ("p-2", "10")):
        await certification.report_year(jetstream, person, date(2026, 6, 1), continuing_education)
    await eventually(lambda: len(rows(certification.database_url, tables.HoursEntry)) == 4)
    await certification.turn_to(date(2027, 9, 1))
    for person, continuing_education in (("p-1", "8"), ("p-2", "10")):
        await certification.report_year(jetstream, person, date(2027, 6, 1), continuing_education)
    await eventually(lambda: len(rows(certification.database_url, tables.HoursEntry)) == 8)
    await certification.turn_to(date(2027, 9, 2))
    before = certification.history("p-1") + certification.history("p-2")

    draft = {
        "version": "draft-2027",
        "effective_from": "2027-03-10",
        "yearly": [
            {
                "kind": "sum",
                "name": "continuing_education",
                "categories": ["continuing_education"],
                "hours": "10",
            },
            {
                "kind": "sum",
                "name": "skill_building",
                "categories": ["skill_building"],
                "hours": "12",
            },
        ],
        "at_risk_lead_days": 200,
    }
    assert (await certification.call("POST", "/what-if", "p1", **draft)).status_code == 403
    answer = await certification.call("POST", "/what-if", "op", **draft)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "on": "2027-09-02",
        "changes": [
            {
                "person_id": "p-1",
                "current": "certified",
                "would_be": "at_risk",
                "reason_code": "hours_short_near_year_end",
            }
        ],
    }
    invalid = await certification.call(
        "POST", "/what-if", "op", version="x", effective_from="2027-01-01", grace_days=-1
    )
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_request")
    secret = "zz-secret-id-42"
    requirement = {"kind": "sum", "name": secret, "categories": ["skill_building"], "hours": "1"}
    drafts = [
        {"first_year": [{"kind": "any_of", "name": secret, "needed": 2, "of": [requirement]}]},
        {"yearly": [requirement, requirement]},
    ]
    for wrong in drafts:
        draft_answer = await certification.call(
            "POST", "/what-if", "op", version=secret, effective_from="2027-09-01", **wrong
        )
        assert (draft_answer.status_code, draft_answer.json()["code"]) == (422, "invalid_request")
        assert not any(part in draft_answer.text for part in ("zz-", "secret", "42"))
    taken = await certification.call(
        "POST", "/what-if", "op", **{**draft, "version": "maine-2026.1"}
    )  # the version in force, named again for a later date
    assert (taken.status_code, taken.json()["code"]) == (422, "invalid_draft")
    assert certification.history("p-1") + certification.history("p-2") == before


TWO_VERSIONS = """
version = "test-2027"
effective_from = 2026-01-01

[certification]
timezone = "America/New_York"

[[certification.rules]]
version = "maine-2026.1"
effective_from = 2026-01-01

[[certification.rules]]
version = "more-education-2027"
effective_from = 2027-01-01
grandfather_trained_before = 2026-06-01  # the spring 2026 cohort keeps the 2026 rules

[[certification.rules.first_year]]
kind = "sum"
name = "continuing_education"
categories = ["continuing_education"]
hours = 8

[[certification.rules.first_year]]
kind = "sum"
name = "skill_building"
categories = ["skill_building"]
hours = 12

[[certification.rules.yearly]]
kind = "sum"
name = "continuing_education"
categories = ["continuing_education"]
hours = 10

[[certification.rules.yearly]]
kind = "any_of"
name = "groups_or_co_reflection"
needed = 1
of = [
  { kind = "sum", name = "skill_building", categories = ["skill_building"], hours = 12 },
  { kind = "minimums", name = "both", minimums = { skill_building = 6, co_reflection = 6 } },
]
"""


@pytest.mark.policy(TWO_VERSIONS)
async def test_a_new_rule_version_applies_from_its_date_and_the_earlier_cohort_keeps_its_rules(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    """From the policy file: 2027 rules ask 10 hours of continuing education a year; the
    spring 2026 cohort (trained before June 2026) is grandfathered on 8."""
    await send(jetstream, trained("p-old", TRAINED_ON))
    await send(jetstream, trained("p-new", date(2026, 6, 10)))
    await eventually(lambda: len(rows(certification.database_url, tables.StandingRow)) == 2)
    await certification.turn_to(date(2026, 9, 1))
    for person in ("p-old", "p-new"):
        await certification.report_year(jetstream, person, date(2026, 8, 1))
    await certification.turn_to(date(2027, 9, 1))
    for person in ("p-old", "p-new"):
        await certification.report_year(jetstream, person, date(2027, 8, 1))
    # 60 days before each one's first certification year ends, 8 hours are short only
    # under the 2027 rules.
    await certification.turn_to(date(2028, 4, 11))
    assert [new for _, new, _, _ in certification.history("p-old")] == ["trained", "certified"]
    assert certification.history("p-new")[-1] == (
        "certified",
        "at_risk",
        "hours_short_near_year_end",
        date(2028, 4, 11),
    )
    status = (await certification.call("GET", "/people/p-new/status", "op")).json()
    assert status["policy_version"] == "more-education-2027"
    education = next(r for r in status["requirements"] if r["name"] == "continuing_education")
    assert (education["counted"], education["required"]) == ("8.00", "10.00")
    groups = next(r for r in status["requirements"] if r["name"] == "groups_or_co_reflection")
    assert (groups["unit"], groups["met"]) == ("requirements", True)
    old = (await certification.call("GET", "/people/p-old/status", "op")).json()
    assert (old["status"], old["policy_version"]) == ("certified", "maine-2026.1")


async def test_a_change_names_what_prompted_it_whatever_its_effective_date(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    # The completion is learned a month late: `trained` is dated back to it and names it.
    certification.calendar.today = TRAINED_ON + timedelta(days=30)
    completion = trained("p-1", TRAINED_ON)
    await send(jetstream, completion)
    [change] = await published(jetstream, "CertificationStatusChanged", expected=1)
    assert (change["data"]["effective_date"], change["data"]["caused_by"]) == (
        TRAINED_ON.isoformat(),
        [completion.id],
    )
    [history] = (await certification.call("GET", "/people/p-1/status", "op")).json()["history"]
    assert history["caused_by"] == [completion.id]

    # A review recorded while the scheduler is behind steps through a date time alone
    # changed the status on (at risk 60 days before the year's end): that change has no
    # news to name.
    await certification.turn_to(date(2026, 9, 1))
    await certification.report_year(jetstream, "p-1", date(2026, 6, 1))
    await certification.turn_to(FIRST_YEAR_ENDS)
    certification.calendar.today = date(2028, 2, 1)  # the scheduler is not woken
    recorded = await certification.call(
        "POST",
        "/people/p-1/reviews",
        "op",
        reviewed_on="2028-01-20",
        outcome="affirmed",
        reason="annual check-in",
    )
    assert recorded.status_code == 201, recorded.text
    assert certification.history("p-1")[-1] == (
        "certified",
        "at_risk",
        "hours_short_near_year_end",
        date(2028, 1, 10),
    )
    [*_, at_risk] = await published(jetstream, "CertificationStatusChanged", expected=3)
    assert (at_risk["data"]["new_status"], at_risk["data"]["caused_by"]) == ("at_risk", [])
