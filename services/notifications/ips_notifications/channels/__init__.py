"""The channels a notification goes out by: one interface (`ChannelAdapter.send`), an
adapter per channel. An adapter answers with the attempt's outcome, never raises for a
refusal, and logs neither address nor message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ips_shared.contracts.events import Channel

from ..domain.delivery import Result


@dataclass(frozen=True)
class Outgoing:
    """One message to send: `key` identifies the notification (the same on every attempt)."""

    key: str
    address: str
    subject: str
    body: str


class ChannelAdapter(Protocol):
    channel: Channel

    async def send(self, message: Outgoing) -> Result: ...

    async def close(self) -> None: ...
