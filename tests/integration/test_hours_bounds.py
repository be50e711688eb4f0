"""Hours outside the contract, through a running certification consumer (SQLite and
PostgreSQL): answered `invalid_payload` on their first delivery, never retried, never
holding back the person's later reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from nats.js import JetStreamContext

from ips_certification.db import tables
from ips_certification.db.tables import HoursEntry
from ips_shared.contracts import streams

from .harness import eventually
from .test_hours_ledger import TODAY, answers, hours, send, trained

# The ledger tests' running service, as fixtures.
from .test_hours_ledger import certification as certification
from .test_hours_ledger import certification_app as certification_app

OUTSIDE_THE_CONTRACT = [
    '"1e30"',
    "1e100",
    "123456789012345678901234567890",
    '"NaN"',
    "-1",
    "0",
    "24.01",
    "1.005",
]


def with_hours(raw: str) -> tuple[str, bytes]:
    """A partner's report for p-1 whose `hours` are `raw` as written (a JSON number or
    string): its event id and body."""
    body = json.loads(hours("p-1", "1").to_json())
    body["data"]["hours"] = "PLACEHOLDER"
    return body["id"], json.dumps(body).replace('"PLACEHOLDER"', raw).encode()


async def stream_messages(js: JetStreamContext, stream: str) -> list[Any]:
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    return [
        await js.get_msg(stream, sequence)
        for sequence in range(info.state.first_seq, info.state.last_seq + 1)
    ]


async def rejection_reasons(js: JetStreamContext) -> list[str]:
    return [
        json.loads(message.data)["data"]["reason"]
        for message in await stream_messages(js, streams.HOURS.name)
        if message.subject.startswith("ips.hours.rejected.")
    ]


async def test_hours_outside_the_contract_are_answered_on_their_first_delivery(
    certification: Callable[[type[Any]], list[Any]],
    jetstream: JetStreamContext,
) -> None:
    await send(jetstream, trained("p-1", TODAY - timedelta(days=30)))
    await eventually(lambda: bool(certification(tables.Participant)))
    refused = []
    for raw in OUTSIDE_THE_CONTRACT:
        event_id, body = with_hours(raw)
        refused.append(event_id)
        await jetstream.publish("ips.hours.logged.smhc", body)
    later = hours("p-1", "2.5")  # the same person's next report is not held back
    await send(jetstream, later)

    async def answered() -> bool:
        return len(await answers(jetstream)) == len(refused)

    await eventually(answered, timeout=10)  # retries would take about 50 s
    assert await answers(jetstream) == {
        event_id: ("ips.hours.rejected.smhc", "invalid_payload") for event_id in refused
    }
    await eventually(lambda: len(certification(HoursEntry)) == 1)
    assert [(e.event_id, e.hours) for e in certification(HoursEntry)] == [
        (later.id, Decimal("2.50"))
    ]
    consumer = await jetstream.consumer_info(streams.HOURS.name, "hours-logged")
    assert consumer.num_redelivered == 0
    assert await stream_messages(jetstream, streams.dead_letter_stream("certification").name) == []
    for reason in await rejection_reasons(jetstream):  # the field is named, the value never echoed
        assert "data.hours" in reason
        assert not any(raw.strip('"') in reason for raw in OUTSIDE_THE_CONTRACT[:3])
