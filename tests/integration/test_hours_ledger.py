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
    **data: Any,
) -> CloudEvent[HoursLogged]:
    logged = HoursLogged(
        person_id=person_id,
        category=data.pop("category", HoursCategory.VOLUNTEER_SERVICE),
        hours=Decimal(amount),
        activity_date=on or TODAY - timedelta(days=1),
        **data,
    )
    return CloudEvent.wrap(logged, source=source, partition_key=person_id)


async def send(js: JetStreamContext, event: CloudEvent[Any], subject: str | None = None) -> None:
    await js.publish(
        subject or event.nats_subject, event.to_json(), headers={MSG_ID_HEADER: event.id}
    )


TOKENS = {
    "op": {"role": "operator", "name": "Dana at OBH"},
    "trainer": {"role": "trainer"},
    "p1": {"role": "person", "person_id": "p-1"},
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
    info = await js.stream_info(streams.HOURS.name)
    found = {}
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(streams.HOURS.name, sequence)
        if message.subject.startswith("ips.hours.rejected."):
            data = json.loads(message.data)["data"]
            found[data["rejected_event_id"]] = (message.subject, data["reason_code"])
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
    assert voided.json() == {"event_id": entry.id, "voided_by": "Dana at OBH"}
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
    assert (await call("GET", "/people/p-2/hours", "p1")).status_code == 403
    assert len(certification(HoursEntry)) == 1  # append-only: the entry stays
    [action] = certification(tables.OperatorAction)
    assert (action.action, action.target, action.actor, action.reason) == (
        "void_hours",
        entry.id,
        "Dana at OBH",
        "reported twice",
    )
