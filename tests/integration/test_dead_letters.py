"""`ips-<service> dead-letters`: list, show, replay and discard what a consumer could not
apply, against a real nats-server and a running consumer (the harness's, which borrows the
notifications service's name and so its dead-letter stream)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import Result
from nats.js import JetStreamContext
from typer.testing import CliRunner

from ips_certification.bootstrap import bootstrap as certification
from ips_certification.db import tables as certification_tables
from ips_certification.db.tables import HoursEntry, Participant
from ips_certification.entrypoints.cli import cli as certification_cli
from ips_certification.settings import CertificationSettings
from ips_notifications.entrypoints.cli import cli as notifications_cli
from ips_shared.contracts import streams, subjects
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import HoursCategory, HoursLogged, TrainingCompleted
from ips_shared.messaging.dead_letters import (
    DEAD_LETTER_ERROR,
    ORIGINAL_EVENT_ID,
    ORIGINAL_SUBJECT,
)
from ips_shared.messaging.streams import declare_streams
from ips_shared.runtime import ServiceRuntime

from .harness import (
    SERVICE,
    Behaviour,
    attendance,
    build_runtime,
    consumer_done,
    effects,
    eventually,
    migrate_service,
    provision_streams,
    publish,
    rows,
    running,
)

LETTERS_STREAM = streams.dead_letter_stream(SERVICE).name


@dataclass
class Consuming:
    """A running consumer and the events that make it fail until `fix` is called."""

    runtime: ServiceRuntime
    behaviour: Behaviour
    nats_url: str
    js: JetStreamContext

    async def dead_letter(self, *poison: CloudEvent[Any]) -> list[int]:
        """Publish events that fail every delivery; their dead letters' sequences, in the
        order of `poison`."""
        before = (await self.js.stream_info(LETTERS_STREAM)).state.last_seq
        for event in poison:
            self.behaviour.failures_left[event.id] = 1_000
            await publish(self.js, event)
        await eventually(lambda: _last_sequence_is(self.js, before + len(poison)))
        letters = [
            await self.js.get_msg(LETTERS_STREAM, sequence)
            for sequence in range(before + 1, before + len(poison) + 1)
        ]
        sequences = {letter.headers[ORIGINAL_EVENT_ID]: letter.seq for letter in letters}
        return [sequences[event.id] for event in poison]

    def fix(self, *events: CloudEvent[Any]) -> None:
        for event in events:
            self.behaviour.failures_left[event.id] = 0

    def applied(self) -> list[str]:
        return [effect.event_id for effect in effects(self.runtime)]

    async def cli(self, *args: str) -> Result:
        return await run_cli(notifications_cli, "NOTIFICATIONS", self.nats_url, *args)


async def run_cli(app: typer.Typer, prefix: str, nats_url: str, *args: str) -> Result:
    """`ips-<service> dead-letters ARGS`, in this process."""
    environment = {f"{prefix}_NATS_URL": nats_url, f"{prefix}_DATABASE_URL": "sqlite://"}
    # The command sets up logging on the runner's stderr, closed after the call: the
    # services running here keep logging where they did.
    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        # The command runs its own event loop, so not on this one.
        return await asyncio.to_thread(
            CliRunner().invoke, app, ["dead-letters", *args], env=environment
        )
    finally:
        root.handlers[:] = handlers


async def _last_sequence_is(js: JetStreamContext, sequence: int) -> bool:
    return (await js.stream_info(LETTERS_STREAM)).state.last_seq == sequence


@pytest.fixture
async def consuming(
    jetstream: JetStreamContext, nats_url: str, tmp_path: Path
) -> AsyncIterator[Consuming]:
    await provision_streams(jetstream)
    behaviour = Behaviour()
    runtime = build_runtime(f"sqlite:///{tmp_path / 'harness.db'}", nats_url, behaviour)
    async with running(runtime):
        yield Consuming(runtime, behaviour, nats_url, jetstream)


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_show_gives_the_reason_and_origin_and_the_payload_only_when_asked(
    consuming: Consuming,
) -> None:
    poison = attendance("person-who-must-not-show", 1)
    [sequence] = await consuming.dead_letter(poison)

    shown = await consuming.cli("show", str(sequence))
    assert shown.exit_code == 0, shown.output
    letter = json.loads(shown.stdout)
    assert letter["sequence"] == sequence
    assert letter["subject"] == subjects.dead_letter_subject(SERVICE, "harness-attendance")
    assert letter[DEAD_LETTER_ERROR] == "handler_failed"
    assert "RuntimeError" in letter["Ips-Dead-Letter-Reason"]
    assert letter[ORIGINAL_SUBJECT] == subjects.TRAINING_DAY_ATTENDED
    assert letter[ORIGINAL_EVENT_ID] == poison.id
    assert letter["payload_bytes"] == len(poison.to_json())
    assert "payload" not in letter
    assert "person-who-must-not-show" not in shown.output

    with_payload = await consuming.cli("show", str(sequence), "--payload")
    assert json.loads(json.loads(with_payload.stdout)["payload"]) == json.loads(poison.to_json())


async def test_a_replay_is_applied_once_through_the_running_consumer(
    consuming: Consuming,
) -> None:
    poison = attendance("p-1", 1)
    [sequence] = await consuming.dead_letter(poison)
    consuming.fix(poison)

    replayed = await consuming.cli("replay", str(sequence), "--actor", "alice")
    assert replayed.exit_code == 0, replayed.output
    assert f"replayed dead letter {sequence} (event {poison.id})" in replayed.stdout
    await eventually(lambda: consumer_done(consuming.js, 2))  # the original, the replay
    assert consuming.applied() == [poison.id]
    assert json_lines(await consuming.cli("list")) == []

    again = await consuming.cli("replay", str(sequence), "--actor", "alice")
    assert again.exit_code == 1
    assert f"no dead letter with sequence {sequence} in {LETTERS_STREAM}" in again.stderr
    assert (await consuming.js.stream_info("ENROLLMENT")).state.messages == 2

    [entry] = json_lines(await consuming.cli("audit"))
    assert (entry["action"], entry["actor"]) == ("replayed", "alice")
    assert entry["letter"]["sequence"] == sequence
    assert entry["letter"][ORIGINAL_EVENT_ID] == poison.id
    assert entry["replayed_to"]["stream"] == "ENROLLMENT"


async def test_a_replay_of_an_event_applied_meanwhile_changes_nothing(
    consuming: Consuming,
) -> None:
    poison = attendance("p-1", 1)
    [sequence] = await consuming.dead_letter(poison)
    consuming.fix(poison)
    await publish(consuming.js, poison, with_msg_id=False)  # its source sent it again
    await eventually(lambda: consuming.applied() == [poison.id])

    replayed = await consuming.cli("replay", str(sequence))
    assert replayed.exit_code == 0, replayed.output
    await eventually(lambda: consumer_done(consuming.js, 3))  # the replay, stored and read
    assert consuming.applied() == [poison.id]
    assert json_lines(await consuming.cli("list")) == []


async def test_replay_all_replays_every_letter_and_leaves_the_audit_trail(
    consuming: Consuming,
) -> None:
    first, second, unwanted = attendance("p-1", 1), attendance("p-2", 1), attendance("p-3", 1)
    sequences = await consuming.dead_letter(first, unwanted, second)
    discarded = await consuming.cli("discard", str(sequences[1]), "--reason", "test data")
    assert discarded.exit_code == 0, discarded.output
    consuming.fix(first, second, unwanted)

    replayed = await consuming.cli("replay", "--all", "--actor", "bob")
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.splitlines()[-1] == "replayed 2, kept 0"
    await eventually(lambda: consumer_done(consuming.js, 5))  # 3 originals, 2 replays
    assert sorted(consuming.applied()) == sorted([first.id, second.id])
    assert json_lines(await consuming.cli("list")) == []
    trail = json_lines(await consuming.cli("audit"))
    assert [(entry["action"], entry["letter"]["sequence"]) for entry in trail] == [
        ("discarded", sequences[1]),
        ("replayed", sequences[0]),
        ("replayed", sequences[2]),
    ]

    nothing = await consuming.cli("replay", "--all")
    assert nothing.exit_code == 0
    assert nothing.stdout.strip() == "replayed 0, kept 0"


async def test_a_replay_that_cannot_be_published_leaves_the_letter(
    consuming: Consuming,
) -> None:
    poison = attendance("p-1", 1)
    [sequence] = await consuming.dead_letter(poison)
    await consuming.js.delete_stream("ENROLLMENT")  # nothing can take the event back now

    failed = await consuming.cli("replay", str(sequence))
    assert failed.exit_code == 1
    assert f"dead letter {sequence} was not replayed" in failed.stderr
    assert "Traceback" not in failed.output
    assert [letter["sequence"] for letter in json_lines(await consuming.cli("list"))] == [sequence]
    assert json_lines(await consuming.cli("audit")) == []


async def test_discard_records_who_when_which_and_why_then_deletes_the_letter(
    consuming: Consuming,
) -> None:
    kept, dropped, by_default = (
        attendance("p-1", 1),
        attendance("person-dropped", 1),
        attendance("p-3", 1),
    )
    kept_at, dropped_at, by_default_at = await consuming.dead_letter(kept, dropped, by_default)

    without_reason = await consuming.cli("discard", str(dropped_at))
    assert without_reason.exit_code == 2
    discarded = await consuming.cli(
        "discard", str(dropped_at), "--actor", "carol", "--reason", "a test event, not real"
    )
    assert discarded.exit_code == 0, discarded.output
    assert discarded.stdout.strip() == f"discarded dead letter {dropped_at}"
    assert (await consuming.cli("discard", str(by_default_at), "--reason", "also")).exit_code == 0

    [entry, default_entry] = json_lines(await consuming.cli("audit"))
    assert entry["action"] == "discarded"
    assert (entry["actor"], entry["reason"]) == ("carol", "a test event, not real")
    assert datetime.fromisoformat(entry["at"]).tzinfo is not None
    assert entry["letter"]["sequence"] == dropped_at
    assert entry["letter"][ORIGINAL_EVENT_ID] == dropped.id
    assert entry["letter"][DEAD_LETTER_ERROR] == "handler_failed"
    assert "person-dropped" not in json.dumps(entry)  # the payload is not in the audit trail
    assert default_entry["actor"] == getpass.getuser()

    # The audit entries share the stream; `list` (and a bare `dead-letters`) skip them.
    [remaining] = json_lines(await consuming.cli("list"))
    assert remaining["sequence"] == kept_at
    assert json_lines(await consuming.cli()) == [remaining]
    assert consuming.applied() == []


async def test_an_unknown_sequence_is_named_with_exit_code_1_and_no_traceback(
    consuming: Consuming,
) -> None:
    [sequence] = await consuming.dead_letter(attendance("p-1", 1))
    await consuming.cli("discard", str(sequence), "--reason", "test")
    [audit_entry] = json_lines(await consuming.cli("audit"))
    for unknown in (sequence, audit_entry["sequence"], 999):
        for command in (
            ["show", str(unknown)],
            ["replay", str(unknown)],
            ["discard", str(unknown), "--reason", "test"],
        ):
            result = await consuming.cli(*command)
            assert result.exit_code == 1, (command, result.output)
            expected = f"no dead letter with sequence {unknown} in {LETTERS_STREAM}"
            assert result.stderr.strip() == expected
            assert isinstance(result.exception, SystemExit)
    assert len(json_lines(await consuming.cli("audit"))) == 1


async def test_a_partners_report_replayed_is_checked_by_the_ledger_and_counted_once(
    jetstream: JetStreamContext, nats_url: str, tmp_path: Path
) -> None:
    database = tmp_path / "certification.db"
    database_url = f"sqlite:///{database}"
    migrate_service(database_url, certification_tables)
    await declare_streams(jetstream, [streams.ENROLLMENT])
    settings = CertificationSettings(
        database_url=database_url,
        nats_url=nats_url,
        relay_poll_seconds=0.05,
        consumer_max_deliver=2,
        consumer_backoff_seconds=(0.2,),
    )
    app = certification(settings).http_app()
    today = datetime.now(UTC).date()
    trained = TrainingCompleted(
        person_id="p-1", cohort_id="2026-spring", completed_on=today - timedelta(days=30)
    )
    report = CloudEvent.wrap(
        HoursLogged(
            person_id="p-1",
            category=HoursCategory.VOLUNTEER_SERVICE,
            hours=Decimal("3"),
            activity_date=today - timedelta(days=1),
        ),
        source="partner/smhc",
        partition_key="p-1",
    )
    async with app.router.lifespan_context(app):
        await publish(
            jetstream, CloudEvent.wrap(trained, source="service/enrollment", partition_key="p-1")
        )
        await eventually(lambda: len(rows(database_url, Participant)) == 1)
        with contextlib.closing(sqlite3.connect(database)) as broken:  # the ledger fails
            broken.execute("ALTER TABLE hours_entry RENAME TO hours_entry_away")
        await publish(jetstream, report)
        await eventually(lambda: _letters_in(jetstream, "certification"), timeout=30)
        with contextlib.closing(sqlite3.connect(database)) as repaired:
            repaired.execute("ALTER TABLE hours_entry_away RENAME TO hours_entry")
        [letter] = json_lines(await run_cli(certification_cli, "CERTIFICATION", nats_url, "list"))
        assert letter[ORIGINAL_EVENT_ID] == report.id

        replayed = await run_cli(
            certification_cli, "CERTIFICATION", nats_url, "replay", str(letter["sequence"])
        )
        assert replayed.exit_code == 0, replayed.output
        assert "to ips.hours.logged.smhc" in replayed.stdout  # the partner's own subject
        await eventually(lambda: len(rows(database_url, HoursEntry)) == 1)
        [entry] = rows(database_url, HoursEntry)
        assert (entry.event_id, entry.source, entry.hours) == (report.id, "partner/smhc", 3)
        hours_stream = await jetstream.stream_info(streams.HOURS.name, subjects_filter=">")
        assert set(hours_stream.state.subjects or {}) == {"ips.hours.logged.smhc"}  # no answer


async def _letters_in(js: JetStreamContext, service: str) -> bool:
    return bool((await js.stream_info(streams.dead_letter_stream(service).name)).state.messages)
