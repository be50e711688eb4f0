"""Per-client limits on small apps built from the shared pieces: failed authentications
(`bearer_principal`) and public endpoints (`public_rate_limit`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import Depends, FastAPI

from ips_shared.auth import Principal, Role, token_entry
from ips_shared.http import bearer_principal, install_error_envelope
from ips_shared.rate_limits import RateLimits, public_rate_limit
from ips_shared.settings import ServiceSettings

GOOD = {"authorization": "Bearer good-token"}
WRONG = {"authorization": "Bearer guessed"}


def small_app(*, failed_authentication: str = "3/minute", public: str = "3/minute") -> FastAPI:
    app = FastAPI()
    app.state.rate_limits = RateLimits(failed_authentication=failed_authentication, public=public)
    install_error_envelope(app)
    principal = bearer_principal({"ops": token_entry("good-token", Role.OPERATOR)})

    @app.get("/private")
    def private(who: Principal = Depends(principal)) -> dict[str, str]:  # noqa: B008
        return {"name": who.name}

    @app.get("/verify/{number}", dependencies=[Depends(public_rate_limit)])
    def verify(number: str) -> dict[str, str]:
        return {"number": number}

    return app


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def assert_too_many(answer: httpx.Response, longest_wait: int) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["code"] == "too_many_requests"
    assert 1 <= int(answer.headers["retry-after"]) <= longest_wait


async def test_past_the_failed_authentications_allowed_a_client_gets_429_even_with_a_good_token():
    app = small_app(failed_authentication="3/minute")
    async with client_at(app, "203.0.113.7") as guesser, client_at(app, "198.51.100.2") as other:
        failures = [
            await guesser.get("/private", headers=WRONG),
            await guesser.get("/private"),  # no token at all counts too
            await guesser.get("/private", headers={"authorization": "Basic x"}),
        ]
        assert [answer.status_code for answer in failures] == [401, 401, 401]

        assert_too_many(await guesser.get("/private", headers=WRONG), 60)
        # Refused before the token is looked at: a right guess is not told apart.
        assert_too_many(await guesser.get("/private", headers=GOOD), 60)
        # Another address is not held back, and endpoints without a token are not limited.
        assert (await other.get("/private", headers=GOOD)).status_code == 200
        assert (await guesser.get("/verify/ME-2026-1")).status_code == 200


async def test_successful_calls_are_not_counted():
    app = small_app(failed_authentication="3/minute")
    async with client_at(app, "203.0.113.8") as client:
        for _ in range(20):
            assert (await client.get("/private", headers=GOOD)).json() == {"name": "ops"}
        statuses = [(await client.get("/private", headers=WRONG)).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


async def test_a_client_held_back_may_try_again_once_the_window_has_moved_on():
    app = small_app(failed_authentication="2/second")
    async with client_at(app, "203.0.113.9") as client:
        for _ in range(2):
            await client.get("/private", headers=WRONG)
        assert_too_many(await client.get("/private", headers=GOOD), 1)

        await asyncio.sleep(1.2)
        assert (await client.get("/private", headers=GOOD)).status_code == 200


async def test_a_public_endpoint_allows_each_client_its_number_of_calls():
    app = small_app(public="3/minute")
    async with client_at(app, "203.0.113.10") as busy, client_at(app, "198.51.100.3") as other:
        statuses = [(await busy.get(f"/verify/ME-2026-{n}")).status_code for n in range(3)]
        assert statuses == [200, 200, 200]

        assert_too_many(await busy.get("/verify/ME-2026-4"), 60)
        assert (await other.get("/verify/ME-2026-4")).status_code == 200
        # Authenticated calls are another matter.
        assert (await busy.get("/private", headers=GOOD)).status_code == 200


async def test_an_app_without_its_limits_refuses_to_answer_rather_than_go_unlimited():
    app = small_app()
    del app.state.rate_limits

    async with client_at(app, "203.0.113.11") as client:
        with pytest.raises(RuntimeError, match="rate_limits"):
            await client.get("/verify/ME-2026-1")


@pytest.mark.parametrize("limit", ["ten per minute", "0/minute", "10/fortnight", ""])
def test_a_limit_that_does_not_read_is_a_settings_error(limit):
    with pytest.raises(ValueError, match="rate limit"):
        ServiceSettings(database_url="sqlite://", http_port=1, auth_failure_limit=limit)
    with pytest.raises(ValueError, match="rate limit"):
        ServiceSettings(database_url="sqlite://", http_port=1, public_rate_limit=limit)
