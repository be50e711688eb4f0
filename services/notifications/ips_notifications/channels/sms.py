"""Text messages through the provider's HTTP API: `POST {"to", "body"}`, answered 2xx."""

from __future__ import annotations

import httpx

from ips_shared.contracts.events import Channel

from ..domain.delivery import Outcome, Result
from . import Outgoing


class SmsChannel:
    """A 2xx answer is delivered (to the provider); 429, a 5xx, a refused or lost
    connection or a timeout is transient; another 4xx is permanent. Each request names the
    notification in an `Idempotency-Key` header, for a provider that recognises a
    repeat."""

    channel = Channel.SMS

    def __init__(self, url: str, timeout_seconds: float = 15.0) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout_seconds)

    async def send(self, message: Outgoing) -> Result:
        try:
            response = await self._client.post(
                self._url,
                json={"to": message.address, "body": message.body},
                headers={"Idempotency-Key": message.key},
            )
        except httpx.TimeoutException:
            return Result(Outcome.TRANSIENT, "timeout")
        except httpx.HTTPError:
            return Result(Outcome.TRANSIENT, "connection_failed")
        status = response.status_code
        if 200 <= status < 300:
            return Result(Outcome.DELIVERED)
        if status == 429 or status >= 500:
            return Result(Outcome.TRANSIENT, f"http_{status}")
        return Result(Outcome.PERMANENT, f"http_{status}")

    async def close(self) -> None:
        await self._client.aclose()
