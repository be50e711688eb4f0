"""What several scenarios share: certification running with trained people to report
hours for, and the checks of what came of the reports."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable

from nats.js import JetStreamContext

from .observe import (
    Database,
    answers,
    consumer_state,
    eventually_count,
    ledger_entries,
    ledger_totals,
    stream_messages,
)
from .processes import ServiceProcess, System
from .scale import SIZES
from .traffic import (
    TRAINING_COMPLETED,
    PartnerTraffic,
    Publisher,
    declare_enrollment_stream,
    publish_all,
    training_completed,
)
from .verdict import Tally, differing_totals, tally_reports

HOURS_CONSUMER = ("HOURS", "hours-logged")
TRAINING_CONSUMER = ("ENROLLMENT", "training-completed")
ROSTER_EVENTS = ("PeerSupport101Completed", "TrainingCompleted")
# Unacknowledged messages come back after the consumers' ack_wait (60 s): a drain after a
# crash may take that long.
DRAIN_SECONDS = 100.0


def trained_people(count: int = SIZES.people) -> list[str]:
    return [f"fp-{number:04d}" for number in range(count)]


async def certification_knowing(
    system: System,
    jetstream: JetStreamContext,
    database_url: str,
    people: list[str],
    settings: dict[str, str] | None = None,
) -> tuple[ServiceProcess, Database]:
    """Certification running alone (the test stands in for enrollment), knowing `people`
    from their TrainingCompleted."""
    await declare_enrollment_stream(jetstream)
    certification = system.service("certification", database_url, settings)
    await system.migrate([certification])
    await system.start([certification])
    database = Database(database_url)
    await publish_all(
        Publisher(jetstream), TRAINING_COMPLETED, (training_completed(p) for p in people)
    )
    known = await eventually_count(database, "SELECT count(*) FROM participant", len(people))
    assert known == len(people), f"certification knows {known} of {len(people)} people"
    return certification, database


async def hours_tally(
    jetstream: JetStreamContext, database: Database, traffic: PartnerTraffic
) -> Tally:
    entries = await asyncio.to_thread(ledger_entries, database)
    return tally_reports(traffic.reports, entries, await answers(jetstream))


async def totals_differing(database: Database, traffic: PartnerTraffic) -> int:
    found = await asyncio.to_thread(ledger_totals, database)
    return len(differing_totals(traffic.expected_totals(), found))


async def consumers_quiet(
    jetstream: JetStreamContext, consumers: Iterable[tuple[str, str]]
) -> bool:
    """Nothing left to deliver, nothing delivered and unacknowledged."""
    for stream, durable in consumers:
        try:
            state = await consumer_state(jetstream, stream, durable)
        except Exception:  # the broker restarting, say: not quiet yet
            return False
        if state.num_pending or state.num_ack_pending:
            return False
    return True


def pairs_out_of_order(traffic: PartnerTraffic, tally: Tally) -> str:
    """How many pairs had their second report applied (so before the first)."""
    misapplied = set(tally.misapplied)
    late = sum(second.event_id in misapplied for _, second in traffic.pairs)
    return f"{late} of {len(traffic.pairs)}"


def resends(traffic: PartnerTraffic, publisher: Publisher) -> str:
    return (
        f"{traffic.resent_same_msg_id} with the same Nats-Msg-Id, "
        f"{traffic.resent_new_msg_id} with a new one; "
        f"{publisher.dropped_as_duplicates} publishes dropped by the broker as duplicates"
    )


async def roster_tally(
    jetstream: JetStreamContext, downstream: Database, people: Iterable[str]
) -> Tally:
    """Each person's two roster events: in the stream once; a TrainingCompleted also makes
    certification know the person, with exactly one status change it caused."""
    copies: Counter[tuple[str, str]] = Counter()
    for message in await stream_messages(jetstream, "ENROLLMENT", "ips.enrollment.>"):
        event = message.envelope()
        copies[(event["type"], event["data"]["person_id"])] += 1
    effects = Counter(
        person
        for (person,) in await asyncio.to_thread(
            downstream.rows,
            "SELECT person_id FROM status_change WHERE reason_code = 'training_completed'",
        )
    )
    tally = Tally()
    for person in people:
        tally.count(
            f"PeerSupport101Completed {person}", copies[("PeerSupport101Completed", person)]
        )
        published = copies[("TrainingCompleted", person)]
        if published != 1:
            tally.count(f"TrainingCompleted {person}", published)
        else:
            tally.count(f"TrainingCompleted {person} (downstream)", effects[person])
    return tally
