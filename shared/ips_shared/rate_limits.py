"""Per-client rate limits, counted in this process's memory with the `limits` library
(moving window): failed authentications (`bearer_principal` in `ips_shared.http`) and
calls to public endpoints (`public_rate_limit`).

A client is the address the request came from (`request.client.host`). Behind a proxy
or an ingress that is the proxy's, unless uvicorn is told to trust its forwarded headers
(`FORWARDED_ALLOW_IPS`). Each replica counts on its own."""

from __future__ import annotations

import math
import time

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .settings import valid_rate_limit


class ClientRateLimit:
    """At most `limit` (e.g. "10/minute") counted calls per client in any moving window."""

    def __init__(self, limit: str) -> None:
        self.limit: RateLimitItem = parse(valid_rate_limit(limit))
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def count(self, client: str) -> int | None:
        """Counts a call; None if it was within the limit, else the seconds to wait."""
        if self._limiter.hit(self.limit, client):
            return None
        return self._retry_after(client)

    def wait_before_next(self, client: str) -> int | None:
        """Without counting: None if one more call would be within the limit, else the
        seconds to wait."""
        if self._limiter.test(self.limit, client):
            return None
        return self._retry_after(client)

    def _retry_after(self, client: str) -> int:
        reset_at, _remaining = self._limiter.get_window_stats(self.limit, client)
        return max(1, math.ceil(reset_at - time.time()))


class RateLimits:
    """The limits of one HTTP app, kept on `app.state.rate_limits` (`http_app` sets it)."""

    def __init__(self, *, failed_authentication: str, public: str) -> None:
        self.failed_authentication = ClientRateLimit(failed_authentication)
        self.public = ClientRateLimit(public)


def rate_limits_of(request: Request) -> RateLimits:
    limits = getattr(request.app.state, "rate_limits", None)
    if not isinstance(limits, RateLimits):
        # Refuse rather than serve unlimited: an app built without `http_app` must set them.
        raise RuntimeError("this app has no app.state.rate_limits (http_app sets them)")
    return limits


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many_requests(retry_after: int, detail: str) -> HTTPException:
    return HTTPException(
        429,
        {"code": "too_many_requests", "detail": f"{detail} Try again in {retry_after} s."},
        {"Retry-After": str(retry_after)},
    )


def public_rate_limit(request: Request) -> None:
    """A FastAPI dependency for endpoints anyone may call (no token): each client gets
    the app's `PUBLIC_RATE_LIMIT` calls per window, then 429 with `Retry-After`.

        @router.get("/verify/{number}", dependencies=[Depends(public_rate_limit)])
    """
    retry_after = rate_limits_of(request).public.count(client_of(request))
    if retry_after is not None:
        raise too_many_requests(retry_after, "Too many requests from this address.")
