"""Poison of every kind on every subject a service consumes: deeply nested JSON (~30 KB),
absurd numbers, invalid UTF-8, wrong types, not JSON at all. Each one ends once, in its
answer (HoursRejected, on a partner's subject) or in the consumer's dead-letter stream,
and events of other partition keys sent meanwhile are applied."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from ips_shared.contracts.permissions import CONSUMERS

from .observe import Database, answers_per_token, dead_letters
from .processes import System
from .scale import SIZES
from .scenario import (
    HOURS_CONSUMER,
    certification_knowing,
    consumers_quiet,
    hours_tally,
    trained_people,
)
from .traffic import (
    APPLICATION_SUBMITTED,
    ENROLLMENT_SOURCE,
    TRAINING_COMPLETED,
    PartnerTraffic,
    Publisher,
    application_submitted,
    envelope,
    publish_all,
    training_completed,
)
from .verdict import Figures, Tally, drain

pytestmark = [pytest.mark.faults, pytest.mark.timeout(SIZES.test_timeout)]

NESTING = 15_000  # 30 KB of brackets: deeper than any JSON parser's recursion allows
OUTCOME_SECONDS = 60.0
# Retries a second apart, so that what is retried instead of refused reaches the
# dead-letter stream within the scenario (after 5 deliveries) rather than after ~50 s.
QUICK_RETRIES = {"consumer_backoff_seconds": "[1]"}


def consumers_of(subject: str) -> list[str]:
    return [
        service
        for service, reads in CONSUMERS.items()
        if any(read.filter_subject == subject for read in reads)
    ]


def listed(kinds: list[str]) -> str:
    return f"{len(kinds)} {kinds}" if kinds else "0"


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def poison(
    event_type: str, source: str, good: dict[str, Any], number_field: str
) -> dict[str, bytes]:
    """Bodies no consumer can apply, by kind, built around a good payload."""

    def event(data: Any, **envelope_fields: Any) -> bytes:
        _, body = envelope(event_type, source, data)
        return json.dumps({**json.loads(body), **envelope_fields}).encode()

    def with_data(**changes: Any) -> bytes:
        return event({**good, **changes})

    deep = event(good)
    assert deep.endswith(b"}}"), "data is the envelope's last member"
    first_field = next(iter(good))
    return {
        "nested-json": b"[" * NESTING + b"]" * NESTING,
        "nested-data": deep[:-2] + f',"deep":{nested(NESTING // 3)}}}}}'.encode(),
        "number-1e30-string": with_data(**{number_field: "1e30"}),
        "number-1e100": with_data(**{number_field: 1e100}),
        "number-30-digits": with_data(**{number_field: 10**30}),
        "invalid-utf8": with_data(**{first_field: "PLACEHOLDER"}).replace(
            b"PLACEHOLDER", b"\xff\xfe\xc3("
        ),
        "wrong-types": with_data(**{key: {"x": [1]} for key in good}),
        "data-not-object": event([good]),
        "envelope-not-object": json.dumps([json.loads(event(good))]).encode(),
        "id-not-string": event(good, id=12345),
        "not-json": b"\x00\x01 this is not JSON {",
        "empty": b"",
    }


async def test_poison_of_every_kind_ends_once_and_the_rest_keeps_flowing(
    system: System, client: Client, rng: random.Random, tmp_path: Path
) -> None:
    began = time.monotonic()
    jetstream = client.jetstream()
    people = trained_people()
    certification, ledger = await certification_knowing(
        system,
        jetstream,
        f"sqlite:///{tmp_path / 'certification.db'}",
        people,
        QUICK_RETRIES,
    )
    notifications = system.service(
        "notifications", f"sqlite:///{tmp_path / 'notifications.db'}", QUICK_RETRIES
    )
    await system.migrate([notifications])
    await system.start([notifications])
    publisher = Publisher(jetstream)

    # Poison first: on a partner subject each kind comes from a partner of its own, whose
    # subject the answer must come back on.
    expected_answers: dict[str, str] = {}
    expected_dead: dict[tuple[str, int], str] = {}  # (subject, stream sequence) -> kind
    hours_good = {
        "person_id": people[0],
        "category": "co_reflection",
        "hours": "1.5",
        "activity_date": "2025-01-02",
    }
    for kind, body in poison("HoursLogged", "partner/placeholder", hours_good, "hours").items():
        token = f"poison-{kind}"
        body = body.replace(b"partner/placeholder", f"partner/{token}".encode())
        await publisher.publish(f"ips.hours.logged.{token}", body, str(uuid.uuid4()))
        expected_answers[token] = kind
    enrollment_subjects = [
        (TRAINING_COMPLETED, "TrainingCompleted", training_completed("fx-poison"), "completed_on"),
        (
            APPLICATION_SUBMITTED,
            "ApplicationSubmitted",
            application_submitted("a-poison", "fx-poison"),
            "submitted_at",
        ),
    ]
    for subject, event_type, (_, good), number_field in enrollment_subjects:
        data = json.loads(good)["data"]
        for kind, body in poison(event_type, ENROLLMENT_SOURCE, data, number_field).items():
            ack = await publisher.publish(subject, body, str(uuid.uuid4()))
            expected_dead[(subject, ack.seq)] = f"{subject.rsplit('.', 2)[-2]}: {kind}"

    # Then the good traffic of other partition keys, which must not wait for the poison.
    traffic = PartnerTraffic(people[1:], SIZES.valid_beside_poison, rng, resend_share=0.0)
    newcomers = [f"fx-{n:04d}" for n in range(50)]
    applications = {f"a-{n:04d}": person for n, person in enumerate(newcomers)}
    sent_at = time.monotonic()
    await asyncio.gather(
        traffic.send(publisher, seconds=5.0),
        publish_all(publisher, TRAINING_COMPLETED, map(training_completed, newcomers)),
        publish_all(
            publisher,
            APPLICATION_SUBMITTED,
            (application_submitted(a, p) for a, p in applications.items()),
        ),
    )
    notices = Database(f"sqlite:///{tmp_path / 'notifications.db'}")

    async def check() -> Tally:
        tally = await hours_tally(jetstream, ledger, traffic)
        participants = await asyncio.to_thread(ledger.rows, "SELECT person_id FROM participant")
        known = {person for (person,) in participants}
        for person in newcomers:
            tally.count(f"TrainingCompleted {person}", int(person in known))
        due = Counter(
            occasion
            for (occasion,) in await asyncio.to_thread(
                notices.rows, "SELECT occasion FROM due_notification"
            )
        )
        for application in applications:
            tally.count(f"ApplicationSubmitted {application}", due[application])
        return tally

    async def quiet() -> bool:
        return await consumers_quiet(
            jetstream,
            [
                HOURS_CONSUMER,
                ("ENROLLMENT", "training-completed"),
                ("ENROLLMENT", "application-submitted"),
            ],
        )

    tally, drained = await drain(check, quiet, OUTCOME_SECONDS)
    flowing_after = time.monotonic() - sent_at

    # Where each poison message ended.
    answered = await answers_per_token(jetstream)
    dead = Counter[tuple[str, str, int]]()  # (service, subject, stream sequence)
    for service in ("certification", "notifications"):
        for letter in await dead_letters(jetstream, service):
            headers = letter.headers
            subject = headers.get("Ips-Original-Subject", "")
            dead[(service, subject, int(headers.get("Ips-Original-Sequence", 0)))] += 1
    poisoned = Tally()
    hours_dead = Counter(
        subject.rsplit(".", 1)[-1] for _, subject, _ in dead.elements() if "hours" in subject
    )
    for token, kind in expected_answers.items():
        poisoned.count(f"hours: {kind}", answered[token] + hours_dead[token])
        if hours_dead[token] and not answered[token]:
            poisoned.misapplied.append(f"hours: {kind} (dead-lettered, not answered)")
    # Every service that consumes the subject ends the poison once, in its own stream.
    for (subject, sequence), kind in expected_dead.items():
        for service in consumers_of(subject):
            poisoned.count(f"{kind} ({service})", dead[(service, subject, sequence)])
    readiness = {
        "certification": await certification.readiness(),
        "notifications": await notifications.readiness(),
    }
    figures = Figures(
        "poison messages",
        len(traffic.reports) + len(newcomers) + len(applications),
        tally,
        f"{len(expected_answers) + len(expected_dead)} poison messages "
        f"({len(expected_answers)} kinds x 3 subjects)",
        drained,
        began,
        {
            "poison ended once": poisoned.once,
            "poison without an end": listed(poisoned.lost),
            "poison ended more than once": listed(poisoned.duplicated),
            "poison dead-lettered instead of answered": listed(poisoned.misapplied),
            "good events applied within": f"{flowing_after:.1f} s",
            "/readyz at the end": readiness,
        },
    )
    figures.report()
    assert tally.clean and drained is not None, figures.line()
    assert poisoned.clean, figures.line()
