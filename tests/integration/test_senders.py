"""Defence in depth in the consumers: whoever can publish on a subject cannot pose as the
service owning it. A forged `TrainingCompleted` is dead-lettered, hours from a service are
answered, and genuine events still apply (certification, real nats-server, SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from nats.js import JetStreamContext

from ips_certification.bootstrap import bootstrap
from ips_certification.db import tables
from ips_certification.settings import CertificationSettings
from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import HoursCategory, HoursLogged, TrainingCompleted
from ips_shared.messaging.dead_letters import DEAD_LETTER_ERROR, ORIGINAL_EVENT_ID
from ips_shared.messaging.streams import declare_streams

from .harness import dead_letters, eventually, migrate_service, rows

TODAY = datetime.now(UTC).date()


def trained(person_id: str, source: str) -> CloudEvent[TrainingCompleted]:
    completed = TrainingCompleted(
        person_id=person_id, cohort_id="2026-spring", completed_on=TODAY - timedelta(days=30)
    )
    return CloudEvent.wrap(completed, source=source, partition_key=person_id)


def hours(source: str) -> CloudEvent[HoursLogged]:
    logged = HoursLogged(
        person_id="p-1",
        category=HoursCategory.SKILL_BUILDING,
        hours=Decimal("2"),
        activity_date=TODAY - timedelta(days=1),
    )
    return CloudEvent.wrap(logged, source=source, partition_key="p-1")


async def send(js: JetStreamContext, event: CloudEvent[Any], subject: str | None = None) -> None:
    await js.publish(
        subject or event.nats_subject, event.to_json(), headers={MSG_ID_HEADER: event.id}
    )


@pytest.fixture
async def certification(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> AsyncIterator[None]:
    await declare_streams(jetstream, [streams.ENROLLMENT])
    migrate_service(database_url, tables)
    app = bootstrap(
        CertificationSettings(database_url=database_url, nats_url=nats_url, relay_poll_seconds=0.05)
    ).http_app()
    async with app.router.lifespan_context(app):
        yield


def people(database_url: str) -> set[str]:
    return {row.person_id for row in rows(database_url, tables.Participant)}


@pytest.mark.usefixtures("certification")
async def test_a_forged_training_completion_is_dead_lettered_and_nobody_is_known(
    jetstream: JetStreamContext, database_url: str
) -> None:
    forged = [trained("p-1", "partner/evil"), trained("p-2", "service/certification")]
    genuine = trained("p-3", "service/enrollment")
    for event in (*forged, genuine):
        await send(jetstream, event, subject=subjects.TRAINING_COMPLETED)

    async def settled() -> bool:
        return (
            "p-3" in people(database_url)
            and len(await dead_letters(jetstream, "certification")) == 2
        )

    await eventually(settled)
    assert people(database_url) == {"p-3"}
    letters = await dead_letters(jetstream, "certification")
    assert sorted(
        (m.headers[ORIGINAL_EVENT_ID], m.headers[DEAD_LETTER_ERROR]) for m in letters
    ) == (sorted((event.id, "source_not_allowed") for event in forged))


@pytest.mark.usefixtures("certification")
async def test_hours_from_a_service_are_answered_and_not_counted(
    jetstream: JetStreamContext, database_url: str
) -> None:
    await send(jetstream, trained("p-1", "service/enrollment"))
    await eventually(lambda: "p-1" in people(database_url))
    forged = hours("service/certification")
    from_partner, from_trainer = hours("partner/smhc"), hours("trainer/t-1")
    for event in (forged, from_partner, from_trainer):  # each on its own source's subject
        await send(jetstream, event)

    async def answered() -> list[tuple[str, str, str]]:
        info = await jetstream.stream_info(streams.HOURS.name)
        found = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await jetstream.get_msg(streams.HOURS.name, sequence)
            if message.subject.startswith(subjects.HOURS_REJECTED_PREFIX):
                data = json.loads(message.data)["data"]
                found.append((data["rejected_event_id"], message.subject, data["reason_code"]))
        return found

    async def settled() -> bool:
        return len(rows(database_url, tables.HoursEntry)) == 2 and bool(await answered())

    await eventually(settled)
    counted = {entry.event_id for entry in rows(database_url, tables.HoursEntry)}
    assert counted == {from_partner.id, from_trainer.id}
    assert await answered() == [
        (forged.id, "ips.hours.rejected.service-certification", "source_mismatch")
    ]
    assert await dead_letters(jetstream, "certification") == []
