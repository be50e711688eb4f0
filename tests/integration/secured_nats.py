"""A real nats-server started with the access folder `ips-access` writes, as `make run`
starts it: every party connects with its own identity, confined to its permissions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client

from embedded_nats import EmbeddedNats
from ips_shared.contracts import streams
from ips_shared.messaging.streams import declare_streams
from ips_shared.nats_access import AccessDirectory

REPORTERS = ("partner/mmc", "partner/smhc", "trainer/t1")


@dataclass
class SecuredNats:
    server: EmbeddedNats
    access: AccessDirectory

    @property
    def url(self) -> str:
        return self.server.url

    def credentials_file(self, identity: str) -> Path:
        return self.access.credentials_file(identity)

    @contextlib.asynccontextmanager
    async def connected_as(self, identity: str) -> AsyncIterator[Party]:
        party = Party(identity)
        party.connection = await nats.connect(
            self.url,
            error_cb=party.record_error,
            max_reconnect_attempts=0,
            **self.access.credentials(identity).connect_options(),
        )
        try:
            yield party
        finally:
            with contextlib.suppress(Exception):
                await party.connection.close()


@dataclass
class Party:
    identity: str
    connection: Client = field(init=False)
    errors: list[str] = field(default_factory=list)

    async def record_error(self, error: Exception) -> None:
        self.errors.append(str(error))

    async def refused(self, attempt: Callable[[], Awaitable[Any]], subject: str) -> bool:
        """Make the attempt; True when the server answered it with a permissions violation
        naming `subject` (a refused request also times out: that is expected)."""
        before = len(self.errors)
        with contextlib.suppress(
            nats.errors.TimeoutError, TimeoutError, nats.errors.NoRespondersError
        ):
            await attempt()
        with contextlib.suppress(nats.errors.Error):
            await self.connection.flush(timeout=2)
        for _ in range(60):
            # nats-py reports the subject lower-cased.
            fresh = [error.lower() for error in self.errors[before:]]
            if any(
                f'permissions violation for {kind} to "{subject.lower()}"' in e
                for e in fresh
                for kind in ("publish", "subscription")
            ):
                return True
            await asyncio.sleep(0.05)
        return False


async def start_secured(folder: Path) -> SecuredNats:
    """A server with the deployment's identities and a few reporters; streams provisioned
    by the admin identity, as `make run` does."""
    access = AccessDirectory(folder / "access")
    access.initialise()
    for reporter in REPORTERS:
        access.add_reporter(reporter)
    server = EmbeddedNats(folder / "nats", access_dir=access.root)
    server.start()
    admin = await nats.connect(server.url, **access.credentials("admin").connect_options())
    try:
        await declare_streams(admin.jetstream(), streams.ALL)
    finally:
        await admin.close()
    return SecuredNats(server, access)
