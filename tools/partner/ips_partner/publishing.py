"""Sending the reports and collecting what the platform answers.

The partner's credentials allow three things on the server: publishing on its own hours
subject, receiving its own rejections, and receiving replies (JetStream's acknowledgements)
on its own inbox prefix. So:

1. subscribe to `ips.hours.rejected.<id>` first, so that no answer is missed;
2. publish every report (up to `IN_FLIGHT` at a time, in file order) and wait for each
   acknowledgement: `duplicate` means the server already had that report;
3. wait for the answers. Certification answers only refusals (`HoursRejected`); an accepted
   report gets no answer. So the tool waits until every new report is answered, or until
   no answer has come for `quiet` seconds after the last acknowledgement or answer: the
   reports still unanswered then are taken as accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import TypeAdapter, ValidationError

from ips_shared.contracts import subjects
from ips_shared.contracts.credentials import Credentials
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import HoursRejected

from .rows import Row

IN_FLIGHT = 64  # reports sent and not yet acknowledged, at most
ACK_TIMEOUT = 10.0  # seconds for one acknowledgement
CONNECT_TIMEOUT = 10.0
ANSWER = TypeAdapter(CloudEvent[HoursRejected])


class ConnectionProblem(Exception):
    """The server could not be reached, or refused the credentials."""


@dataclass(frozen=True)
class Report:
    """A row as sent: its line, its stable event id."""

    row: Row
    event_id: str


@dataclass(frozen=True)
class Rejection:
    line: int
    reason_code: str
    reason: str


@dataclass
class Results:
    """Lines by outcome; every report sent is in exactly one list."""

    published: list[int] = field(default_factory=list)
    already_known: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    unacknowledged: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the server's own complaints


def source_of(credentials: Credentials) -> str:
    """The source the credentials report as (`partner/mmc`); refused if not a reporter."""
    identity = credentials.identity
    if not identity.startswith(subjects.HOURS_REPORTERS):
        raise ConnectionProblem(f"the credentials are for {identity}, which reports no hours")
    try:
        subjects.source_token(identity)
    except subjects.InvalidSource as error:
        raise ConnectionProblem(str(error)) from None
    return identity


async def publish(
    reports: Sequence[Report],
    credentials: Credentials,
    server: str,
    quiet: float,
    on_acknowledged: Callable[[], None] = lambda: None,
    on_waiting: Callable[[int, int], None] = lambda answered, expected: None,
) -> Results:
    source = source_of(credentials)
    token = subjects.source_token(source)
    results = Results()
    connection = await _connect(server, credentials, results.problems)
    by_id = {report.event_id: report for report in reports}
    answers: dict[str, tuple[str, str]] = {}  # event id -> (reason code, reason)
    answered = asyncio.Event()
    acks: dict[str, bool | str] = {}

    async def on_answer(message: Msg) -> None:
        answer = read_answer(message.data)
        if answer is not None and answer[0] in by_id and answer[0] not in answers:
            answers[answer[0]] = answer[1:]
            answered.set()

    try:
        await connection.subscribe(subjects.hours_rejected_subject(token), cb=on_answer)
        await connection.flush(timeout=CONNECT_TIMEOUT)  # subscribed before the first report
        await _send_all(connection, source, token, reports, acks, on_acknowledged)
        expected = {event_id for event_id, ack in acks.items() if ack is True}
        await _wait_for_answers(expected, answers, answered, quiet, on_waiting)
    except nats.errors.Error as error:
        raise ConnectionProblem(_plain(error)) from None
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
    for report in reports:
        line, ack = report.row.line, acks[report.event_id]
        if (answer := answers.get(report.event_id)) is not None:
            results.rejected.append(Rejection(line, *answer))
        elif isinstance(ack, str):
            results.unacknowledged.append((line, ack))
        elif ack is False:
            results.already_known.append(line)
        else:
            results.published.append(line)
    return results


def read_answer(body: bytes) -> tuple[str, str, str] | None:
    """(rejected event id, reason code, reason) of an `HoursRejected`; None for anything
    else. A reason code newer than this tool is kept as it comes."""
    try:
        answer = ANSWER.validate_json(body).data
    except ValidationError:
        try:
            data = json.loads(body)["data"]
            return str(data["rejected_event_id"]), str(data["reason_code"]), str(data["reason"])
        except (ValueError, KeyError, TypeError):
            return None
    return answer.rejected_event_id, answer.reason_code.value, answer.reason


async def _connect(server: str, credentials: Credentials, problems: list[str]) -> Client:
    async def record(error: Exception) -> None:
        problems.append(_plain(error))

    try:
        return await nats.connect(
            server,
            allow_reconnect=False,  # a run cut short is run again; nothing counts twice
            max_reconnect_attempts=1,  # a second try at the start, a second later
            reconnect_time_wait=1,
            connect_timeout=CONNECT_TIMEOUT,
            error_cb=record,
            **credentials.connect_options(),
        )
    except (OSError, TimeoutError, nats.errors.Error) as error:
        tried = isinstance(error, nats.errors.NoServersError) and problems
        detail = problems[-1] if tried else _plain(error)
        raise ConnectionProblem(f"cannot connect to {server}: {detail}") from None


async def _send_all(
    connection: Client,
    source: str,
    token: str,
    reports: Sequence[Report],
    acks: dict[str, bool | str],
    on_acknowledged: Callable[[], None],
) -> None:
    """Fills `acks`: event id -> True (new to the server), False (the server had it
    already), or why no acknowledgement came."""
    js = connection.jetstream()
    window = asyncio.Semaphore(IN_FLIGHT)  # first come, first served: file order

    async def send(report: Report) -> None:
        envelope = CloudEvent.wrap(
            report.row.report,
            source=source,
            partition_key=report.row.report.person_id,
            event_id=report.event_id,
        )
        async with window:
            try:
                ack = await js.publish(
                    envelope.nats_subject,
                    envelope.to_json(),
                    timeout=ACK_TIMEOUT,
                    headers={MSG_ID_HEADER: f"{token}:{report.event_id}"},
                )
            except (nats.errors.Error, TimeoutError) as error:
                acks[report.event_id] = _plain(error) or "no acknowledgement"
            else:
                acks[report.event_id] = not ack.duplicate
            on_acknowledged()

    await asyncio.gather(*(send(report) for report in reports))


async def _wait_for_answers(
    expected: set[str],
    answers: dict[str, tuple[str, str]],
    answered: asyncio.Event,
    quiet: float,
    on_waiting: Callable[[int, int], None],
) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + quiet
    while not expected <= answers.keys():
        on_waiting(len(expected & answers.keys()), len(expected))
        answered.clear()
        try:
            await asyncio.wait_for(answered.wait(), max(until - loop.time(), 0))
        except TimeoutError:
            return
        until = loop.time() + quiet
    on_waiting(len(expected), len(expected))


def _plain(error: BaseException) -> str:
    """An error as one line: nats-py's messages, without their `nats: ` prefix."""
    text = str(error).strip() or type(error).__name__
    return text.removeprefix("nats: ").replace("\n", " ")
