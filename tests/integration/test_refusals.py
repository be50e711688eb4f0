"""A consumer with an `answer_bad` hook answers bad or misaddressed events to their source
(as partners need) instead of dead-lettering them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from nats.js import JetStreamContext

from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import HoursCategory, HoursLogged, HoursRejected
from ips_shared.messaging.consumer import BadMessage
from ips_shared.messaging.streams import declare_streams
from ips_shared.messaging.unit_of_work import UnitOfWork

from .harness import build_runtime, dead_letters, eventually, running


def hours(source: str) -> CloudEvent[HoursLogged]:
    logged = HoursLogged(
        person_id="p-1",
        category=HoursCategory.SKILL_BUILDING,
        hours=Decimal("1.5"),
        activity_date=date(2027, 3, 1),
    )
    return CloudEvent.wrap(logged, source=source, partition_key="p-1")


async def rejections(js: JetStreamContext) -> list[dict[str, Any]]:
    info = await js.stream_info(streams.HOURS.name)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(streams.HOURS.name, sequence)
        if message.subject.startswith(subjects.HOURS_REJECTED_PREFIX):
            found.append({"subject": message.subject, **json.loads(message.data)["data"]})
    return found


async def test_misaddressed_and_invalid_hours_are_answered_to_the_source(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await declare_streams(jetstream, [streams.HOURS])
    applied: list[str] = []

    def apply(events: Sequence[CloudEvent[Any]], uow: UnitOfWork) -> None:
        applied.extend(event.id for event in events)

    def answer_bad(message: BadMessage, uow: UnitOfWork) -> None:
        token = message.subject.rsplit(".", 1)[-1]
        uow.emit(
            HoursRejected(
                rejected_event_id=message.event_id or "unreadable",
                reason_code=message.code,
                reason=message.reason,
            ),
            subject=subjects.hours_rejected_subject(token),
        )

    runtime = build_runtime(database_url, nats_url)
    runtime.consume(
        "harness-hours",
        streams.HOURS,
        subjects.HOURS_LOGGED_ALL,
        [HoursLogged],
        apply,
        answer_bad=answer_bad,
        source_must_match_subject=True,
    )
    async with running(runtime):
        own, spoofed = hours("partner/smhc"), hours("partner/other-hospital")
        await jetstream.publish(own.nats_subject, own.to_json(), headers={MSG_ID_HEADER: own.id})
        await jetstream.publish("ips.hours.logged.smhc", spoofed.to_json())
        await jetstream.publish("ips.hours.logged.smhc", b'{"specversion": "1.0", "id": "e-9"}')

        async def answered() -> bool:
            return len(await rejections(jetstream)) == 2

        await eventually(answered)
        assert applied == [own.id]
        found = sorted(await rejections(jetstream), key=lambda r: r["reason_code"])
        assert [(r["subject"], r["rejected_event_id"], r["reason_code"]) for r in found] == [
            ("ips.hours.rejected.smhc", "e-9", "invalid_payload"),
            ("ips.hours.rejected.smhc", spoofed.id, "source_mismatch"),
        ]
        # The answer names neither the source claimed nor the subject used.
        for told in ("other-hospital", "smhc"):
            assert told not in found[1]["reason"]
        assert await dead_letters(jetstream) == []
