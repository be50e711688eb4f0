"""The free-text `note` of an hours report stays in the ledger entry it belongs to: no
event the certification service sends, no refusal it keeps and no line it logs copies
it, whether the report is counted or refused."""

from __future__ import annotations

import json
from datetime import timedelta

from nats.js import JetStreamContext

from ips_certification.bootstrap import bootstrap
from ips_certification.db import tables
from ips_certification.settings import CertificationSettings
from ips_shared.contracts import streams
from ips_shared.messaging.streams import declare_streams

from .harness import eventually, migrate_service, rows
from .log_capture import captured_log_lines
from .test_hours_ledger import TODAY, TOKENS, hours, send, trained

NOTE = "Zebulon-Note: walked with Sam by the river, he told me about his brother"


async def every_message(js: JetStreamContext, stream: str) -> list[tuple[str, bytes]]:
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    return [
        ((message := await js.get_msg(stream, sequence)).subject, message.data)
        for sequence in range(info.state.first_seq, info.state.last_seq + 1)
    ]


async def test_a_note_is_never_copied_into_events_refusals_or_log_lines(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    await declare_streams(jetstream, [streams.ENROLLMENT])
    migrate_service(database_url, tables)
    settings = CertificationSettings(
        database_url=database_url,
        nats_url=nats_url,
        relay_poll_seconds=0.05,
        scheduler_settle_seconds=0.1,
        api_tokens=TOKENS,
    )
    counted = hours("p-1", "2", note=NOTE)
    in_the_future = hours("p-1", "1", on=TODAY + timedelta(days=2), note=NOTE)
    for_a_stranger = hours("p-404", "1", note=NOTE)
    over_the_bounds = json.loads(hours("p-1", "1", note=NOTE).to_json())
    over_the_bounds["data"]["hours"] = "25"
    too_long = json.loads(hours("p-1", "1").to_json())
    too_long["data"]["note"] = NOTE * 4  # past the 200 characters allowed

    with captured_log_lines("certification") as log:
        app = bootstrap(settings).http_app()
        async with app.router.lifespan_context(app):
            await send(jetstream, trained("p-1", TODAY - timedelta(days=30)))
            await eventually(lambda: bool(rows(database_url, tables.Participant)))
            for report in (counted, in_the_future, for_a_stranger):
                await send(jetstream, report)
            for body in (over_the_bounds, too_long):
                await jetstream.publish("ips.hours.logged.smhc", json.dumps(body).encode())

            async def all_answered() -> bool:
                hours_stream = await every_message(jetstream, streams.HOURS.name)
                answers = [s for s, _ in hours_stream if s.startswith("ips.hours.rejected.")]
                return len(answers) == 4 and len(rows(database_url, tables.HoursEntry)) == 1

            await eventually(all_answered)
            await eventually(
                lambda: all(row.published_at for row in rows(database_url, tables.Outbox))
            )
            sent = [
                data
                for subject, data in await every_message(jetstream, streams.HOURS.name)
                if not subject.startswith("ips.hours.logged.")  # what partners sent
            ] + [data for _, data in await every_message(jetstream, streams.CERTIFICATION.name)]

    [entry] = rows(database_url, tables.HoursEntry)
    assert (entry.event_id, entry.note) == (counted.id, NOTE)  # kept where it belongs

    outbox = rows(database_url, tables.Outbox)
    assert len(outbox) >= 4
    assert not [row.event_type for row in outbox if b"Zebulon" in row.payload]
    assert len(sent) >= 4
    assert not [data for data in sent if b"Zebulon" in data]
    refusals = rows(database_url, tables.HoursRejection)
    assert {refusal.reason_code for refusal in refusals} == {
        "future_date",
        "unknown_person",
        "invalid_payload",
    }
    assert not [refusal.reason for refusal in refusals if "Zebulon" in refusal.reason]
    lines = log.getvalue()
    assert "consumer.answered" in lines
    assert "Zebulon" not in lines
