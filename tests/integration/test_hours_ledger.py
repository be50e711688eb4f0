"""The certification service's hours ledger through a real nats-server, on SQLite and
PostgreSQL: partners' reports counted once, refusals answered on the partner's subject."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from ips_certification.bootstrap import bootstrap
from ips_certification.db import tables
from ips_certification.db.tables import HoursEntry, HoursRejection
from ips_certification.settings import CertificationSettings
from ips_shared.auth import Role, token_entry
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import HoursCategory, HoursLogged, TrainingCompleted
from ips_shared.messaging.streams import declare_streams

from .harness import eventually, migrate_service, rows

TODAY = datetime.now(UTC).date()


def trained(person_id: str, on: date) -> CloudEvent[TrainingCompleted]:
    completed = TrainingCompleted(person_id=person_id, cohort_id="2026-spring", completed_on=on)
    return CloudEvent.wrap(completed, source="service/enrollment", partition_key=person_id)


def hours(
    person_id: str,
    amount: str,
    *,
    source: str = "partner/smhc",
    on: date | None = None,
    event_id: str | None = None,
    **data: Any,
) -> CloudEvent[HoursLogged]:
    logged = HoursLogged(
        person_id=person_id,
        category=data.pop("category", HoursCategory.VOLUNTEER_SERVICE),
        hours=Decimal(amount),
        activity_date=on or TODAY - timedelta(days=1),
        **data,
    )
    return CloudEvent.wrap(logged, source=source, partition_key=person_id, event_id=event_id)


async def send(js: JetStreamContext, event: CloudEvent[Any], subject: str | None = None) -> None:
    await js.publish(
        subject or event.nats_subject, event.to_json(), headers={MSG_ID_HEADER: event.id}
    )


TOKENS = {  # name -> the entry of the token that follows "Bearer "
    "Dana at OBH": token_entry("op", Role.OPERATOR),
    "trainer": token_entry("trainer", Role.TRAINER),
    "p1": token_entry("p1", Role.PERSON, "p-1"),
}


@pytest.fixture
async def certification_app(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    await declare_streams(jetstream, [streams.ENROLLMENT])
    migrate_service(database_url, tables)
    app = bootstrap(
        CertificationSettings(
            database_url=database_url, nats_url=nats_url, relay_poll_seconds=0.05, api_tokens=TOKENS
        )
    ).http_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://c") as client,
    ):
        yield client


@pytest.fixture
def certification(
    certification_app: httpx.AsyncClient, database_url: str
) -> Callable[[type[Any]], list[Any]]:
    return lambda table: rows(database_url, table)


async def answers(js: JetStreamContext) -> dict[str, tuple[str, str]]:
    """rejected event id -> (subject answered on, reason code)."""
    return {event_id: (subject, code) for event_id, subject, code in await every_answer(js)}


async def every_answer(js: JetStreamContext) -> list[tuple[str, str, str]]:
    """(rejected event id, subject answered on, reason code), one per answer sent."""
    info = await js.stream_info(streams.HOURS.name)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(streams.HOURS.name, sequence)
        if message.subject.startswith("ips.hours.rejected."):
            data = json.loads(message.data)["data"]
            found.append((data["rejected_event_id"], message.subject, data["reason_code"]))
    return found


async def test_reports_are_counted_once_and_refusals_answered_to_their_source(
    certification: Callable[[type[Any]], list[Any]], jetstream: JetStreamContext
) -> None:
    began = TODAY - timedelta(days=30)
    await send(jetstream, trained("p-1", began))
    good = hours("p-1", "20", category=HoursCategory.SKILL_BUILDING)
    other_source_same_day = hours("p-1", "10", source="partner/mmc")
    over_the_day = hours("p-1", "4.5")
    unknown = hours("p-404", "1")
    future = hours("p-1", "1", on=TODAY + timedelta(days=2))
    before_record = hours("p-1", "1", on=began - timedelta(days=1))
    spoofed = hours("p-1", "1", source="partner/mmc")

    async def known() -> bool:
        return bool(certification(tables.Participant))

    await eventually(known)
    for event in (good, other_source_same_day, over_the_day, unknown, future, before_record):
        await send(jetstream, event)
    await send(jetstream, spoofed, subject="ips.hours.logged.smhc")
    await send(jetstream, good)  # within the duplicate window: dropped by the server
    await jetstream.publish(good.nats_subject, good.to_json())  # a re-send days later
    bad_category = json.loads(hours("p-1", "1").to_json())
    bad_category["data"]["category"] = "knitting"
    await jetstream.publish("ips.hours.logged.smhc", json.dumps(bad_category).encode())

    async def settled() -> bool:
        return len(await answers(jetstream)) == 6

    await eventually(settled)
    assert sorted((e.event_id, e.hours) for e in certification(HoursEntry)) == sorted(
        [(good.id, Decimal("20.00")), (other_source_same_day.id, Decimal("10.00"))]
    )
    assert await answers(jetstream) == {
        over_the_day.id: ("ips.hours.rejected.smhc", "daily_limit_exceeded"),
        unknown.id: ("ips.hours.rejected.smhc", "unknown_person"),
        future.id: ("ips.hours.rejected.smhc", "future_date"),
        before_record.id: ("ips.hours.rejected.smhc", "before_record_began"),
        spoofed.id: ("ips.hours.rejected.smhc", "source_mismatch"),
        bad_category["id"]: ("ips.hours.rejected.smhc", "unknown_category"),
    }
    assert len(certification(HoursRejection)) == 6


async def test_an_operator_voids_an_entry_and_the_ledger_keeps_both(
    certification_app: httpx.AsyncClient,
    certification: Callable[[type[Any]], list[Any]],
    jetstream: JetStreamContext,
) -> None:
    await send(jetstream, trained("p-1", TODAY - timedelta(days=30)))

    async def known() -> bool:
        return bool(certification(tables.Participant))

    await eventually(known)
    entry = hours("p-1", "3")
    await send(jetstream, entry)
    await eventually(lambda: len(certification(HoursEntry)) == 1)

    def call(method: str, path: str, token: str, **body: Any) -> Any:
        headers = {"authorization": f"Bearer {token}"}
        return certification_app.request(method, path, json=body or None, headers=headers)

    assert (
        await call("POST", f"/hours/{entry.id}/void", "trainer", reason="typo")
    ).status_code == 403
    voided = await call("POST", f"/hours/{entry.id}/void", "op", reason="reported twice")
    assert voided.json() == {
        "event_id": entry.id,
        "source": "partner/smhc",
        "voided_by": "Dana at OBH",
    }
    again = await call("POST", f"/hours/{entry.id}/void", "op", reason="reported twice")
    assert (again.status_code, again.json()["code"]) == (409, "already_voided")
    missing = await call("POST", "/hours/nope/void", "op", reason="x" * 5)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    [listed] = (await call("GET", "/people/p-1/hours", "p1")).json()
    assert (listed["event_id"], listed["hours"], listed["void_reason"]) == (
        entry.id,
        "3.00",
        "reported twice",
    )
    assert (await call("GET", "/people/p-2/hours", "p1")).status_code == 404
    assert len(certification(HoursEntry)) == 1  # append-only: the entry stays
    [action] = certification(tables.OperatorAction)
    assert (action.action, action.target, action.actor, action.reason) == (
        "void_hours",
        f"partner/smhc {entry.id}",
        "Dana at OBH",
        "reported twice",
    )
    # The person is told which hours no longer count (notifications), never why.
    subscription = await jetstream.subscribe(
        "ips.certification.hours.voided", stream=streams.CERTIFICATION.name, ordered_consumer=True
    )
    told = json.loads((await subscription.next_msg(timeout=10)).data)
    assert (told["type"], told["partitionkey"]) == ("HoursVoided", "p-1")
    voided_on = told["data"].pop("voided_on")
    assert told["data"] == {
        "person_id": "p-1",
        "entry_event_id": entry.id,
        "category": "volunteer_service",
        "hours": "3.00",
        "activity_date": entry.data.activity_date.isoformat(),
    }
    # The program's day (New York): UTC's, or the one before.
    assert voided_on in {TODAY.isoformat(), (TODAY - timedelta(days=1)).isoformat()}
    assert "reported twice" not in json.dumps(told) and "smhc" not in json.dumps(told)


def api_call(client: httpx.AsyncClient, method: str, path: str, token: str, **body: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"}
    return client.request(method, path, json=body or None, headers=headers)


async def test_a_report_refused_for_an_unknown_person_counts_when_sent_again_once_known(
    certification: Callable[[type[Any]], list[Any]], jetstream: JetStreamContext
) -> None:
    early = hours("p-1", "2")
    await send(jetstream, early)

    async def refused(event: CloudEvent[Any], code: str, times: int) -> bool:
        found = [a for a in await every_answer(jetstream) if a[0] == event.id]
        return found == [(event.id, "ips.hours.rejected.smhc", code)] * times

    await eventually(lambda: refused(early, "unknown_person", 1))
    await send(jetstream, trained("p-1", TODAY - timedelta(days=30)))
    await eventually(lambda: bool(certification(tables.Participant)))

    # Sent again after the duplicate window (the partner's tool keeps its ids): counted now.
    await jetstream.publish(early.nats_subject, early.to_json())
    await eventually(lambda: [e.event_id for e in certification(HoursEntry)] == [early.id])

    # Still wrong when sent again: answered again.
    future = hours("p-1", "1", on=TODAY + timedelta(days=2))
    await send(jetstream, future)
    await eventually(lambda: refused(future, "future_date", 1))
    await jetstream.publish(future.nats_subject, future.to_json())
    await eventually(lambda: refused(future, "future_date", 2))
    assert await refused(early, "unknown_person", 1)
    assert [e.event_id for e in certification(HoursEntry)] == [early.id]


async def test_reports_of_two_partners_sharing_an_id_both_count_and_a_void_names_the_source(
    certification_app: httpx.AsyncClient,
    certification: Callable[[type[Any]], list[Any]],
    jetstream: JetStreamContext,
) -> None:
    await send(jetstream, trained("p-1", TODAY - timedelta(days=30)))
    await eventually(lambda: bool(certification(tables.Participant)))
    smhc = hours("p-1", "3", event_id="row-7")
    mmc = hours("p-1", "2", source="partner/mmc", event_id="row-7")
    await send(jetstream, smhc)
    # JetStream's duplicate window knows the id alone: as if sent after the window.
    await jetstream.publish(mmc.nats_subject, mmc.to_json())
    await jetstream.publish(mmc.nats_subject, mmc.to_json())  # a re-send: counted once
    await eventually(lambda: len(certification(HoursEntry)) == 2)
    assert sorted((e.source, e.event_id, e.hours) for e in certification(HoursEntry)) == [
        ("partner/mmc", "row-7", Decimal("2.00")),
        ("partner/smhc", "row-7", Decimal("3.00")),
    ]

    def void(query: str = "") -> Any:
        return api_call(certification_app, "POST", f"/hours/row-7/void{query}", "op", reason="typo")

    ambiguous = await void()
    assert (ambiguous.status_code, ambiguous.json()["code"]) == (409, "ambiguous_event_id")
    voided = await void("?source=partner/mmc")
    assert voided.json() == {
        "event_id": "row-7",
        "source": "partner/mmc",
        "voided_by": "Dana at OBH",
    }
    again = await void("?source=partner/mmc")
    assert (again.status_code, again.json()["code"]) == (409, "already_voided")
    elsewhere = await void("?source=partner/emhc")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")

    listed = (await api_call(certification_app, "GET", "/people/p-1/hours", "op")).json()
    assert sorted((h["source"], h["hours"], h["void_reason"]) for h in listed) == [
        ("partner/mmc", "2.00", "typo"),
        ("partner/smhc", "3.00", None),
    ]
    [action] = certification(tables.OperatorAction)
    assert action.target == "partner/mmc row-7"


async def test_the_hours_of_someone_certification_does_not_know_are_not_found(
    certification_app: httpx.AsyncClient,
) -> None:
    for path in ("/people/p-404/hours", "/people/p-404/status"):
        response = await api_call(certification_app, "GET", path, "op")
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


UNKNOWN = "zz-secret-id-42"  # distinctive: no part of it may come back


async def test_a_person_finds_anothers_record_as_absent_as_an_unknown_one(
    certification_app: httpx.AsyncClient,
    certification: Callable[[type[Any]], list[Any]],
    jetstream: JetStreamContext,
) -> None:
    await send(jetstream, trained("p-2", TODAY - timedelta(days=30)))
    await eventually(lambda: len(certification(tables.Participant)) == 1)
    for part in ("hours", "status"):
        anothers = await api_call(certification_app, "GET", f"/people/p-2/{part}", "p1")
        unknown = await api_call(certification_app, "GET", f"/people/{UNKNOWN}/{part}", "p1")
        assert (anothers.status_code, anothers.content) == (unknown.status_code, unknown.content)
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
        assert (await api_call(certification_app, "GET", f"/people/p-2/{part}", "op")).is_success


async def test_refusals_hold_no_part_of_the_id_sent(certification_app: httpx.AsyncClient) -> None:
    reason = {"reason": "a reason"}
    review = {**reason, "reviewed_on": "2027-01-01", "outcome": "affirmed"}
    refused = [
        await api_call(certification_app, "GET", f"/people/{UNKNOWN}/status", "op"),
        await api_call(certification_app, "GET", f"/people/{UNKNOWN}/hours", "op"),
        await api_call(certification_app, "POST", f"/people/{UNKNOWN}/suspend", "op", **reason),
        await api_call(certification_app, "POST", f"/people/{UNKNOWN}/reviews", "op", **review),
        await api_call(certification_app, "POST", f"/hours/{UNKNOWN}/void", "op", **reason),
        await api_call(
            certification_app, "POST", f"/hours/{UNKNOWN}/void?source={UNKNOWN}", "op", **reason
        ),
    ]
    assert [answer.status_code for answer in refused] == [404] * len(refused)
    for answer in refused:
        assert not any(part in answer.text for part in ("zz-", "secret", "42")), answer.text
