"""The other side of the wire, written apart from the services' code: partners reporting
hours and an enrollment stand-in, each building its CloudEvents JSON itself, with a
ledger of what was sent and what the services should make of each event."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import PubAck, StorageType, StreamConfig

MSG_ID = "Nats-Msg-Id"
PARTNERS = tuple(f"fault-p{number:02d}" for number in range(10))
CATEGORIES = ("continuing_education", "skill_building", "co_reflection", "volunteer_service")
RECORD_BEGAN = date(2024, 12, 1)  # the training completion the people are known from
COHORT = "2024-fall"
ENROLLMENT_SOURCE = "service/enrollment"
TRAINING_COMPLETED = "ips.enrollment.training.completed"
APPLICATION_SUBMITTED = "ips.enrollment.application.submitted"
APPLIED = "applied"
DAILY_LIMIT = "daily_limit_exceeded"


def envelope(
    event_type: str,
    source: str,
    data: Any,
    *,
    event_id: str | None = None,
    partition_key: str | None = None,
) -> tuple[str, bytes]:
    """(id, body) of a structured-mode CloudEvent."""
    event_id = event_id or str(uuid.uuid4())
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "schemaversion": 1,
        "data": data,
    }
    if partition_key is not None:
        body["partitionkey"] = partition_key
    return event_id, json.dumps(body).encode()


class Publisher:
    """Publishes until JetStream acknowledges, through broker restarts: a retry carries the
    same `Nats-Msg-Id`, so the broker keeps one copy of a publish that did land."""

    def __init__(self, jetstream: JetStreamContext, give_up_after: float = 120.0) -> None:
        self._jetstream = jetstream
        self._give_up_after = give_up_after
        self.acknowledged = 0
        self.retries = 0
        self.dropped_as_duplicates = 0  # the broker's duplicate window at work

    async def publish(self, subject: str, body: bytes, msg_id: str) -> PubAck:
        began = time.monotonic()
        while True:
            try:
                ack = await self._jetstream.publish(
                    subject, body, timeout=2.0, headers={MSG_ID: msg_id}
                )
            except (nats.errors.Error, TimeoutError):
                if time.monotonic() - began > self._give_up_after:
                    raise
                self.retries += 1
                await asyncio.sleep(0.25)
                continue
            self.acknowledged += 1
            self.dropped_as_duplicates += bool(ack.duplicate)
            return ack


@dataclass
class Report:
    """One `HoursLogged` a partner sent, and what the ledger should make of it."""

    token: str
    event_id: str
    person_id: str
    category: str
    hours: Decimal
    activity_date: date
    expected: str  # APPLIED, or the reason code of its HoursRejected
    note: str
    sequence: int | None = None  # its position in the HOURS stream, once acknowledged

    @property
    def source(self) -> str:
        return f"partner/{self.token}"

    @property
    def subject(self) -> str:
        return f"ips.hours.logged.{self.token}"

    def body(self) -> bytes:
        data = {
            "person_id": self.person_id,
            "category": self.category,
            "hours": str(self.hours),
            "activity_date": self.activity_date.isoformat(),
            "note": self.note,
        }
        return envelope(
            "HoursLogged", self.source, data, event_id=self.event_id, partition_key=self.person_id
        )[1]


@dataclass
class PartnerTraffic:
    """Reports of hours from ten partners about `people`.

    Most are the only report of their person, day and source, and are counted. A share are
    pairs for one person, day and source, 20 h then 10 h, the second sent after the first
    was acknowledged: with the cap of 24 h per person, day and source, whichever is applied
    first is counted and the other refused, so the outcome shows the order they were
    applied in. A share of the counted ones are sent again, half with the same
    `Nats-Msg-Id` (inside the broker's duplicate window) and half with a new one (what a
    re-send after the window looks like to a consumer). A share may be marked slow (their
    note starts with `slow`) for a scenario that delays them."""

    people: Sequence[str]
    count: int
    rng: random.Random
    pair_share: float = 0.1
    resend_share: float = 0.05
    slow_share: float = 0.0
    reports: list[Report] = field(init=False, default_factory=list)
    pairs: list[tuple[Report, Report]] = field(init=False, default_factory=list)
    resent_same_msg_id: int = field(init=False, default=0)
    resent_new_msg_id: int = field(init=False, default=0)
    _units: list[tuple[Report, ...]] = field(init=False, default_factory=list)
    _resend: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        days_used: defaultdict[tuple[str, str], int] = defaultdict(int)
        latest = date.today() - timedelta(days=1)

        def report(person: str, token: str, day: date, hours: Decimal, note: str) -> Report:
            category = self.rng.choice(CATEGORIES)
            event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))  # the seed replays it
            return Report(token, event_id, person, category, hours, day, APPLIED, note)

        serial = itertools.count()
        while len(self.reports) < self.count:
            person, token = self.rng.choice(self.people), self.rng.choice(PARTNERS)
            day = RECORD_BEGAN + timedelta(days=days_used[(person, token)])
            days_used[(person, token)] += 1
            assert day <= latest, "more reports than days: plan more people"
            if self.rng.random() < self.pair_share and len(self.reports) + 2 <= self.count:
                first = report(person, token, day, Decimal("20.00"), f"pair {next(serial)} first")
                second = report(person, token, day, Decimal("10.00"), f"pair {next(serial)} then")
                second.expected = DAILY_LIMIT
                self.pairs.append((first, second))
                self._units.append((first, second))
                self.reports += [first, second]
                continue
            hours = Decimal(self.rng.randint(1, 32)) / 4  # 0.25 to 8 hours
            single = report(person, token, day, hours, f"report {next(serial)}")
            self._units.append((single,))
            self.reports.append(single)
            if self.rng.random() < self.resend_share:
                self._resend.add(single.event_id)
        singles = [unit[0] for unit in self._units if len(unit) == 1]
        for single in self.rng.sample(singles, round(self.count * self.slow_share)):
            single.note = f"slow {single.note}"

    @property
    def slow(self) -> list[Report]:
        return [report for report in self.reports if report.note.startswith("slow")]

    def expected_totals(self) -> dict[tuple[str, str], Decimal]:
        totals: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for report in self.reports:
            if report.expected == APPLIED:
                totals[(report.person_id, report.category)] += report.hours
        return dict(totals)

    async def send(self, publisher: Publisher, seconds: float) -> None:
        """Everything, paced evenly over `seconds`; returns when all is acknowledged."""
        began, interval = time.monotonic(), seconds / max(1, len(self._units))
        in_flight = asyncio.Semaphore(200)
        tasks = []
        for index, unit in enumerate(self._units):
            await asyncio.sleep(max(0.0, began + index * interval - time.monotonic()))
            await in_flight.acquire()
            tasks.append(asyncio.create_task(self._send_unit(publisher, unit, in_flight)))
        await asyncio.gather(*tasks)

    async def _send_unit(
        self, publisher: Publisher, unit: tuple[Report, ...], in_flight: asyncio.Semaphore
    ) -> None:
        try:
            for position, report in enumerate(unit):
                if position:  # the second of a pair: after the first, at a moment of chance
                    await asyncio.sleep(self.rng.uniform(0.0, 2.0))
                ack = await publisher.publish(report.subject, report.body(), report.event_id)
                report.sequence = ack.seq
        finally:
            in_flight.release()
        if len(unit) == 1 and unit[0].event_id in self._resend:
            await self._send_again(publisher, unit[0])

    async def _send_again(self, publisher: Publisher, report: Report) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 6.0))
        if self.rng.random() < 0.5:
            self.resent_same_msg_id += 1
            await publisher.publish(report.subject, report.body(), report.event_id)
        else:
            self.resent_new_msg_id += 1
            await publisher.publish(report.subject, report.body(), f"{report.event_id}/again")


# -- the enrollment stand-in, for scenarios that run certification or notifications alone --


async def declare_enrollment_stream(jetstream: JetStreamContext) -> None:
    """As enrollment would (it owns the stream), for scenarios that run without it."""
    await jetstream.add_stream(
        StreamConfig(
            name="ENROLLMENT",
            subjects=["ips.enrollment.>"],
            storage=StorageType.FILE,
            duplicate_window=120.0,
        )
    )


def training_completed(person_id: str) -> tuple[str, bytes]:
    data = {"person_id": person_id, "cohort_id": COHORT, "completed_on": RECORD_BEGAN.isoformat()}
    return envelope("TrainingCompleted", ENROLLMENT_SOURCE, data, partition_key=person_id)


def application_submitted(application_id: str, person_id: str) -> tuple[str, bytes]:
    data = {
        "application_id": application_id,
        "person_id": person_id,
        "intake": "2027-spring",
        "submitted_at": datetime.now(UTC).isoformat(),
        "transport": "own_car",
    }
    return envelope("ApplicationSubmitted", ENROLLMENT_SOURCE, data, partition_key=person_id)


async def publish_all(
    publisher: Publisher, subject: str, events: Iterable[tuple[str, bytes]]
) -> dict[str, int]:
    """Publish side by side; the stream position of each event id."""
    events = list(events)
    acks = await asyncio.gather(
        *(publisher.publish(subject, body, event_id) for event_id, body in events)
    )
    return {event_id: ack.seq for (event_id, _), ack in zip(events, acks, strict=True)}


def roster_csv(people: Sequence[str]) -> str:
    """A state's roster (enrollment's import format): each person trained in 2024."""
    lines = ["person_id,name,region,ps101_completed_on,training_cohort,training_completed_on"]
    for index, person in enumerate(people):
        lines.append(f"{person},Fault Person {index},York,2024-10-01,{COHORT},{RECORD_BEGAN}")
    return "\n".join(lines) + "\n"
