"""What operators do with a service's dead letters: list and show them (never the payload
unless asked), replay them (the original body goes back to its original subject and
through the normal consumer, whose inbox skips an event already applied) or discard them.
Each replay and discard is recorded in the same stream, on
`ips.deadletter.<service>.audit.<action>`: one token deeper than any letter, so no
consumer's name can collide with it, and kept as long as the letters (the stream's
`max_age`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
import nats.errors
import structlog
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from ..contracts.credentials import NatsEndpoint
from ..contracts.envelope import MSG_ID_HEADER
from ..contracts.streams import dead_letter_stream, stream_for_subject
from ..contracts.subjects import (
    DEAD_LETTER_PREFIX,
    dead_letter_audit_subject,
    dead_letter_subject,
)
from .dead_letters import (
    ORIGINAL_EVENT_ID,
    ORIGINAL_SUBJECT,
)

log = structlog.get_logger("ips.dead_letters")

REPLAYED = "replayed"
DISCARDED = "discarded"


class DeadLetterError(Exception):
    """An operator's command on dead letters could not be done; the message says why."""


class NoSuchDeadLetter(DeadLetterError):
    def __init__(self, stream: str, sequence: int) -> None:
        super().__init__(f"no dead letter with sequence {sequence} in {stream}")


@dataclass(frozen=True)
class Replayed:
    """A dead letter published again on its original subject."""

    sequence: int
    subject: str
    event_id: str | None
    stream: str
    stream_sequence: int
    duplicate: bool  # the server had it already (a replay run again within its window)


async def list_dead_letters(
    endpoint: NatsEndpoint, service: str, limit: int
) -> list[dict[str, Any]]:
    """The newest `limit` dead letters, newest last: where they came from and why, not
    their payload."""
    async with _dead_letters(endpoint, service) as letters:
        return [_described(letter) for letter in await letters.newest(_letters_of(service), limit)]


async def show_dead_letter(
    endpoint: NatsEndpoint, service: str, sequence: int, *, with_payload: bool = False
) -> dict[str, Any]:
    """One dead letter: its headers (reason, original subject, sequence and event id) and
    the size of its payload; the payload itself only when asked, as it may hold personal
    data."""
    async with _dead_letters(endpoint, service) as letters:
        letter = await letters.get(sequence)
    shown = {**_described(letter), "payload_bytes": len(letter.data or b"")}
    if with_payload:
        shown["payload"] = (letter.data or b"").decode("utf-8", errors="replace")
    return shown


async def replay_dead_letter(
    endpoint: NatsEndpoint, service: str, sequence: int, *, actor: str
) -> Replayed:
    async with _dead_letters(endpoint, service) as letters:
        return await letters.replay(await letters.get(sequence), actor)


async def replay_all_dead_letters(
    endpoint: NatsEndpoint, service: str, *, actor: str
) -> tuple[list[Replayed], list[DeadLetterError]]:
    """Replays every dead letter there is when it starts (a replay that fails again comes
    back as a new letter, not replayed in the same run), going on past failures."""
    replayed: list[Replayed] = []
    failed: list[DeadLetterError] = []
    async with _dead_letters(endpoint, service) as letters:
        async for letter in letters.between(_letters_of(service), 1, await letters.last()):
            try:
                replayed.append(await letters.replay(letter, actor))
            except DeadLetterError as error:
                failed.append(error)
    return replayed, failed


async def discard_dead_letter(
    endpoint: NatsEndpoint, service: str, sequence: int, *, actor: str, reason: str
) -> dict[str, Any]:
    """Record who discarded which letter, when and why, then delete the letter. Returns
    the audit entry."""
    async with _dead_letters(endpoint, service) as letters:
        letter = await letters.get(sequence)
        entry = await letters.record(DISCARDED, letter, actor=actor, reason=reason)
        await letters.remove(letter, DISCARDED)
    log.info("dead_letters.discarded", sequence=sequence, event_id=_event_id(letter))
    return entry


async def list_audit(endpoint: NatsEndpoint, service: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` replays and discards, newest last."""
    async with _dead_letters(endpoint, service) as letters:
        entries = await letters.newest(dead_letter_audit_subject(service, "*"), limit)
    return [{"sequence": entry.seq, **json.loads(entry.data or b"{}")} for entry in entries]


class _DeadLetterStream:
    """One service's dead-letter stream on an open connection."""

    def __init__(self, jetstream: JetStreamContext, service: str) -> None:
        self._jetstream = jetstream
        self._service = service
        self.name = dead_letter_stream(service).name

    async def last(self) -> int:
        try:
            info = await self._jetstream.stream_info(self.name)
        except NotFoundError:
            raise DeadLetterError(
                f"no stream {self.name}: run `ips-{self._service} provision`"
            ) from None
        return info.state.last_seq

    async def get(self, sequence: int) -> RawStreamMsg:
        await self.last()  # a missing stream is named as such, not as a missing letter
        try:
            letter = await self._jetstream.get_msg(self.name, sequence)
        except NotFoundError:
            raise NoSuchDeadLetter(self.name, sequence) from None
        if not _is_letter(self._service, letter):
            raise NoSuchDeadLetter(self.name, sequence)  # an audit entry
        return letter

    async def between(self, subject: str, first: int, last: int) -> AsyncIterator[RawStreamMsg]:
        """The messages on `subject` (wildcards allowed) from sequence `first` to `last`;
        the server skips the others, deleted ones included."""
        sequence = first
        while sequence <= last:
            try:
                message = await self._jetstream.get_msg(
                    self.name, sequence, subject=subject, next=True
                )
            except NotFoundError:
                return
            if message.seq is None or message.seq > last:
                return
            yield message
            sequence = message.seq + 1

    async def newest(self, subject: str, limit: int) -> list[RawStreamMsg]:
        """The newest `limit` messages on `subject`, newest last: looks back over a span
        that doubles until it holds enough, so gaps and other subjects cost little."""
        last = await self.last()
        span = limit
        while True:
            first = max(1, last - span + 1)
            found = [message async for message in self.between(subject, first, last)]
            if len(found) >= limit or first == 1:
                return found[-limit:]
            span *= 2

    async def replay(self, letter: RawStreamMsg, actor: str) -> Replayed:
        """Publish the original body on its original subject, record it, remove the letter.
        A failed publish leaves the letter in place. Run again (after a crash between the
        publish and the removal), the server drops the copy within its duplicate window
        (same message id) and the consumer's inbox skips it after that."""
        assert letter.seq is not None
        headers = letter.headers or {}
        subject = headers.get(ORIGINAL_SUBJECT, "")
        try:
            target = stream_for_subject(subject)
        except LookupError:
            target = None
        if target is None or subject.startswith(f"{DEAD_LETTER_PREFIX}."):
            raise DeadLetterError(
                f"dead letter {letter.seq} names no original subject it can go back to; it stays"
            )
        try:
            ack = await self._jetstream.publish(
                subject,
                letter.data or b"",
                stream=target.name,
                headers={MSG_ID_HEADER: f"replay:{self._service}:{letter.seq}"},
            )
        except (nats.errors.Error, OSError) as error:
            raise DeadLetterError(
                f"dead letter {letter.seq} was not replayed ({type(error).__name__}); it stays"
            ) from None
        replayed = Replayed(
            letter.seq, subject, _event_id(letter), ack.stream, ack.seq, bool(ack.duplicate)
        )
        try:
            await self.record(
                REPLAYED,
                letter,
                actor=actor,
                reason=None,
                replayed_to={"stream": ack.stream, "sequence": ack.seq},
            )
        except DeadLetterError as error:
            raise DeadLetterError(
                f"dead letter {letter.seq} was published again, but {error}: replaying it"
                " again is safe"
            ) from None
        await self.remove(letter, REPLAYED)
        log.info(
            "dead_letters.replayed",
            sequence=letter.seq,
            event_id=replayed.event_id,
            stream=ack.stream,
            stream_sequence=ack.seq,
            duplicate=replayed.duplicate,
        )
        return replayed

    async def record(
        self,
        action: str,
        letter: RawStreamMsg,
        *,
        actor: str,
        reason: str | None,
        **details: Any,
    ) -> dict[str, Any]:
        """Append the audit entry; raises (and nothing else is done) if it was not stored."""
        entry = {
            "action": action,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "actor": actor,
            "reason": reason,
            "letter": _described(letter),
            **details,
        }
        try:
            await self._jetstream.publish(
                dead_letter_audit_subject(self._service, action),
                json.dumps(entry).encode(),
                stream=self.name,
                headers={MSG_ID_HEADER: f"audit:{action}:{letter.seq}"},
            )
        except (nats.errors.Error, OSError) as error:
            raise DeadLetterError(
                f"the audit entry for dead letter {letter.seq} was not stored"
                f" ({type(error).__name__}); the letter stays"
            ) from None
        return entry

    async def remove(self, letter: RawStreamMsg, action: str) -> None:
        assert letter.seq is not None
        try:
            await self._jetstream.delete_msg(self.name, letter.seq)
        except (nats.errors.Error, OSError) as error:
            if await self._still_there(letter.seq):
                raise DeadLetterError(
                    f"dead letter {letter.seq} was {action} and recorded, but not removed"
                    f" ({type(error).__name__}); run the command again"
                ) from None

    async def _still_there(self, sequence: int) -> bool:
        try:
            await self._jetstream.get_msg(self.name, sequence)
        except NotFoundError:
            return False
        return True


@contextlib.asynccontextmanager
async def _dead_letters(endpoint: NatsEndpoint, service: str) -> AsyncIterator[_DeadLetterStream]:
    async def errors_raise_instead(_: Exception) -> None:
        """nats-py would log each failed attempt with a traceback; the caller says it once."""

    try:
        connection = await nats.connect(
            endpoint.servers,
            **endpoint.connect_options(),
            connect_timeout=5,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=errors_raise_instead,
        )
    except (nats.errors.Error, OSError) as error:
        # Not the URL: it may hold credentials.
        raise DeadLetterError(
            f"cannot reach NATS ({type(error).__name__}): check the NATS URL and credentials"
        ) from None
    try:
        yield _DeadLetterStream(connection.jetstream(), service)
    except (nats.errors.Error, OSError) as error:
        raise DeadLetterError(
            f"NATS failed midway ({type(error).__name__}); running the command again is safe"
        ) from None
    finally:
        await connection.close()


def _letters_of(service: str) -> str:
    return dead_letter_subject(service, "*")


def _is_letter(service: str, message: RawStreamMsg) -> bool:
    prefix = f"{DEAD_LETTER_PREFIX}.{service}."
    subject = message.subject or ""
    return subject.startswith(prefix) and "." not in subject.removeprefix(prefix)


def _event_id(letter: RawStreamMsg) -> str | None:
    return (letter.headers or {}).get(ORIGINAL_EVENT_ID)


def _described(letter: RawStreamMsg) -> dict[str, Any]:
    """Where a letter came from and why: its headers, never its payload."""
    return {
        "sequence": letter.seq,
        "subject": letter.subject,
        "dead_lettered_at": letter.time.isoformat() if letter.time else None,
        **(letter.headers or {}),
    }
