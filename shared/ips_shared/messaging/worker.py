"""A background loop that runs one pass at a time: woken early from any thread, backing
off after failures, and stopped between passes (cancelling could cut a database call
short in its worker thread)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

log = structlog.get_logger(__name__)


class Worker:
    def __init__(self, name: str, poll_seconds: float, max_backoff_seconds: float = 30.0) -> None:
        self.name = name
        self._poll_seconds = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.healthy = True

    async def work(self) -> None:
        """One pass; subclasses do their work here."""
        raise NotImplementedError

    def wake(self) -> None:
        """Ask for a pass now; safe to call from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        failures = 0
        while not self._stopping:
            try:
                await self.work()
            except Exception as error:
                failures += 1
                self.healthy = False
                delay = min(self._max_backoff, 0.25 * 2**failures)
                log.warning(f"{self.name}.failed", error=type(error).__name__, retry_in=delay)
                await self._pause(delay)
                continue
            if failures:
                log.info(f"{self.name}.recovered", after_failures=failures)
            failures, self.healthy = 0, True
            await self._pause(self._poll_seconds)

    def stop(self) -> None:
        """Finish the pass in hand, then leave `run`."""
        self._stopping = True
        self._wake.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        if not self._stopping:
            self._wake.clear()
