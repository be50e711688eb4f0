"""One chain from an HTTP request to the last event it causes: attendance recorded over
HTTP completes a training in enrollment, and certification, applying that completion,
announces the person's new status. Every event carries the request's correlation id and
names the event whose application emitted it."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import date, timedelta
from typing import Any

import httpx
from nats.js import JetStreamContext

from ips_certification.bootstrap import bootstrap as bootstrap_certification
from ips_certification.db import tables as certification_tables
from ips_certification.settings import CertificationSettings
from ips_enrollment.bootstrap import bootstrap as bootstrap_enrollment
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_shared.contracts import streams
from ips_shared.messaging.causation import CORRELATION_HEADER

from .enrollment_flow import TOKENS, TRAINER, Enrollment
from .harness import eventually, migrate_service

REQUEST_ID = "attendance-request-1"


async def stored_events(js: JetStreamContext, stream: str) -> list[dict[str, Any]]:
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    return [
        json.loads((await js.get_msg(stream, sequence)).data)
        for sequence in range(info.state.first_seq, info.state.last_seq + 1)
    ]


async def test_one_correlation_id_from_the_request_to_the_last_event_it_causes(
    jetstream: JetStreamContext, new_database: Callable[[], str], nats_url: str
) -> None:
    enrollment_db, certification_db = new_database(), new_database()
    migrate_service(enrollment_db, enrollment_tables)
    migrate_service(certification_db, certification_tables)
    common = {"nats_url": nats_url, "relay_poll_seconds": 0.1, "api_tokens": TOKENS}
    enrollment = bootstrap_enrollment(
        EnrollmentSettings(database_url=enrollment_db, **common)
    ).http_app()
    certification = bootstrap_certification(
        CertificationSettings(database_url=certification_db, **common)
    ).http_app()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(enrollment.router.lifespan_context(enrollment))
        await stack.enter_async_context(certification.router.lifespan_context(certification))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(enrollment), base_url="http://enrollment"
            )
        )
        flow = Enrollment(client)
        person = await flow.person()
        await flow.ps101_done(person)
        application = await flow.apply(person)
        cohort = application["intake"]
        await flow.ok("POST", f"/applications/{application['application_id']}/accept")
        first_day = date.today() - timedelta(days=20)
        for day in range(1, 8):
            attended_on = (first_day + timedelta(days=day - 1)).isoformat()
            await flow.ok(
                "POST",
                f"/cohorts/{cohort}/attendance",
                TRAINER,
                person_id=person,
                day=day,
                attended_on=attended_on,
            )

        last_day = await client.post(
            f"/cohorts/{cohort}/attendance",
            json={
                "person_id": person,
                "day": 8,
                "attended_on": (first_day + timedelta(days=7)).isoformat(),
            },
            headers={"authorization": f"Bearer {TRAINER}", CORRELATION_HEADER: REQUEST_ID},
        )
        assert last_day.status_code == 201, last_day.text
        assert last_day.headers[CORRELATION_HEADER] == REQUEST_ID

        async def status_announced() -> bool:
            return any(
                event["type"] == "CertificationStatusChanged"
                for event in await stored_events(jetstream, streams.CERTIFICATION.name)
            )

        await eventually(status_announced, timeout=30)

    enrolled = await stored_events(jetstream, streams.ENROLLMENT.name)
    [completed] = [event for event in enrolled if event["type"] == "TrainingCompleted"]
    [day_eight] = [
        event
        for event in enrolled
        if event["type"] == "TrainingDayAttended" and event["data"]["day"] == 8
    ]
    [changed] = [
        event
        for event in await stored_events(jetstream, streams.CERTIFICATION.name)
        if event["type"] == "CertificationStatusChanged"
    ]
    chain = [day_eight, completed, changed]
    assert [event["correlationid"] for event in chain] == [REQUEST_ID] * 3
    assert "causationid" not in completed and "causationid" not in day_eight  # the request's
    assert changed["causationid"] == completed["id"]
    assert changed["data"]["new_status"] == "trained"
    assert changed["data"]["person_id"] == person
    # The events before the last request belong to chains of their own.
    others = [event for event in enrolled if event not in (completed, day_eight)]
    assert others and REQUEST_ID not in {event["correlationid"] for event in others}
