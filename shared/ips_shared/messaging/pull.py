"""Continuous pull from a durable JetStream consumer into batches.

Pull requests are answered on one long-lived inbox subscription (the "consume" pattern of
the newer NATS clients), so a message the server sends is never left on an abandoned
request, and a batch is whatever has arrived when the previous one finished: no waiting
to fill it, hence no added latency at low rates and full batches under load.
nats-py's `fetch()` caps near 14k msgs/s and FastStream's batch loop waits for a full
batch or its timeout (and dies on a timeout it does not catch), which is why this exists.

The loop is supervised: if it dies (an exception nothing below it caught), it says so at
error level and starts again after a pause that grows while it keeps failing. Before it
pulls again, `on_rebind` takes up the durable consumer afresh, so that what was delivered
and not acknowledged comes first (`BatchConsumer._rebind`); messages still queued from
before are dropped with their inbox, the server delivers them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

log = structlog.get_logger("ips.pull")

REQUEST_EXPIRES_SECONDS = 30.0
IDLE_HEARTBEAT_SECONDS = 5.0
RESTART_PAUSES_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)  # after the 1st, 2nd... failure in a row


class PullLoop:
    def __init__(
        self,
        connection: Client,
        stream: str,
        durable: str,
        batch_size: int,
        on_batch: Callable[[Sequence[Msg]], Awaitable[None]],
        on_rebind: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._connection = connection
        self._durable = durable
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._batch_size = batch_size
        self._on_batch = on_batch
        self._on_rebind = on_rebind
        self._queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._inbox = connection.new_inbox()
        self._outstanding = 0  # messages requested and not yet received or expired
        self._silent_for = 0.0
        self._stopping = False
        self._stopped = asyncio.Event()
        self._must_rebind = False
        self._failures = 0  # in a row: a batch handled resets it
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Pulling: neither dead, nor stopped, nor waiting to start again."""
        return self._task is not None and not self._task.done() and not self._must_rebind

    def rebind(self) -> None:
        """Take up the durable consumer afresh (`on_rebind`) after the batch in hand."""
        self._must_rebind = True

    async def start(self) -> None:
        await self._subscribe()
        self._task = asyncio.create_task(self._supervise(), name=f"pull:{self._durable}")

    async def stop(self, timeout: float = 20.0) -> None:
        """Stop asking for more, and hand over what the server has sent already (up to
        `timeout`): nothing is left waiting for its ack wait to end."""
        self._stopping = True
        self._stopped.set()
        try:
            await asyncio.wait_for(self._finish(), timeout)
        except (asyncio.CancelledError, TimeoutError):
            pass
        except Exception as error:
            log.error("consumer.stop_failed", consumer=self._durable, error=type(error).__name__)
        with contextlib.suppress(Exception):
            await self._subscription.unsubscribe()

    async def _finish(self) -> None:
        if self._task is not None:
            await self._task
        # No more is asked for, but the requests still open bring what the server sends
        # them: take it until none is open (or nothing came for a moment), so that nothing
        # reaches an inbox already left and waits there for its ack wait to end. A loop
        # waiting to start again leaves them: the next start resumes from the floor.
        while not self._must_rebind and (self._outstanding > 0 or not self._queue.empty()):
            batch = await self._next_batch()
            if batch:
                await self._on_batch(batch)
            elif self._queue.empty():  # nothing came for a moment
                return

    async def _subscribe(self) -> None:
        self._subscription = await self._connection.subscribe(self._inbox, cb=self._queue.put)

    async def _supervise(self) -> None:
        while not self._stopping:
            restarting = self._must_rebind
            try:
                if restarting:
                    await self._rebind()
                    restarting = False
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._must_rebind = True
                pause = RESTART_PAUSES_SECONDS[min(self._failures, len(RESTART_PAUSES_SECONDS) - 1)]
                self._failures += 1
                log.error(
                    "consumer.restart_failed" if restarting else "consumer.loop_died",
                    consumer=self._durable,
                    error=type(error).__name__,
                    where=raised_at(error),
                    failures_in_a_row=self._failures,
                    restart_in=pause,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), pause)

    async def _rebind(self) -> None:
        # First: the server drops the pull requests nobody listens to, so nothing more is
        # delivered to the old inbox. (If the connection is gone, so are they.)
        with contextlib.suppress(Exception):
            await self._subscription.unsubscribe()
        if self._on_rebind is not None:
            await self._on_rebind()
        self._queue = asyncio.Queue()
        self._inbox = self._connection.new_inbox()
        await self._subscribe()
        self._outstanding, self._silent_for = 0, 0.0
        self._must_rebind = False
        log.info("consumer.loop_started_again", consumer=self._durable)

    async def _run(self) -> None:
        while not self._stopping and not self._must_rebind:
            try:
                await self._request_more()
                batch = await self._next_batch()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # connection trouble: the server redelivers unacked work
                log.warning("pull.interrupted", error=type(error).__name__)
                self._outstanding = 0
                await asyncio.sleep(1.0)
                continue
            if batch:
                await self._on_batch(batch)
                self._failures = 0

    async def _request_more(self) -> None:
        wanted = 2 * self._batch_size - self._outstanding
        if wanted < self._batch_size or not self._connection.is_connected:
            return
        request = {
            "batch": wanted,
            "expires": int(REQUEST_EXPIRES_SECONDS * 1e9),
            "idle_heartbeat": int(IDLE_HEARTBEAT_SECONDS * 1e9),
        }
        await self._connection.publish(
            self._next_subject, json.dumps(request).encode(), reply=self._inbox
        )
        self._outstanding += wanted

    async def _next_batch(self) -> list[Msg]:
        """Wait for the first message, then take what else has arrived, up to a batch."""
        try:
            first = await asyncio.wait_for(self._queue.get(), timeout=0.5)
        except TimeoutError:
            self._silent_for += 0.5
            if self._silent_for > 2.5 * IDLE_HEARTBEAT_SECONDS:
                # No heartbeat: the requests were lost (a reconnect, say); ask again.
                self._outstanding, self._silent_for = 0, 0.0
            return []
        self._silent_for = 0.0
        batch: list[Msg] = []
        message: Msg | None = first
        while message is not None:
            self._take(message, batch)
            if len(batch) >= self._batch_size:
                break
            message = None if self._queue.empty() else self._queue.get_nowait()
        return batch

    def _take(self, message: Msg, batch: list[Msg]) -> None:
        status = JetStreamContext.is_status_msg(message)
        if status is None:
            self._outstanding -= 1
            batch.append(message)
        elif status in ("408", "409"):  # request expired or ended: its remainder is void
            pending = (message.headers or {}).get("Nats-Pending-Messages")
            self._outstanding = max(0, self._outstanding - int(pending or 0))
        # "100" is an idle heartbeat: it only proves the request is alive.


def raised_at(error: BaseException) -> str:
    """The line that raised, for the log: code positions only, never values."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"
