"""The HTTP guards every service wears, tried on enrollment's real app: a body over the
limit is refused before it is parsed or the caller is authenticated, every answer carries
security headers, no page loads a script from elsewhere, and a client that fails to
authenticate too often is held back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from nats.js import JetStreamContext

from ips_enrollment.bootstrap import bootstrap
from ips_enrollment.db import tables
from ips_enrollment.settings import EnrollmentSettings

from .enrollment_flow import OPERATOR, TOKENS
from .harness import migrate_service

MIB = 1024 * 1024
CHUNK = 64 * 1024


@asynccontextmanager
async def enrollment(
    database_url: str, nats_url: str, **settings: Any
) -> AsyncIterator[tuple[FastAPI, Any]]:
    migrate_service(database_url, tables)
    app = bootstrap(
        EnrollmentSettings(
            database_url=database_url, nats_url=nats_url, api_tokens=TOKENS, **settings
        )
    ).http_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://enrollment"
        ) as client,
    ):
        yield app, client


def assert_too_large(answer: httpx.Response) -> None:
    assert answer.status_code == 413, (answer.status_code, answer.text)
    assert answer.json() == {
        "code": "payload_too_large",
        "detail": f"The request body is larger than {MIB} bytes.",
    }
    assert answer.headers["x-content-type-options"] == "nosniff"


def a_person_of(size: int) -> bytes:
    """A JSON body for `POST /people` of exactly `size` bytes."""
    head, tail = b'{"name": "A Peer", "region": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_an_unauthenticated_body_over_the_limit_is_refused_with_413(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with enrollment(database_url, nats_url) as (_app, client):
        declared = await client.post(
            "/people", content=a_person_of(2 * MIB), headers={"content-type": "application/json"}
        )
        assert "content-length" in declared.request.headers
        assert_too_large(declared)

        async def chunks() -> AsyncIterator[bytes]:
            body = a_person_of(2 * MIB)
            for start in range(0, len(body), CHUNK):
                yield body[start : start + CHUNK]

        streamed = await client.post(
            "/people", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.request.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in streamed.request.headers
        assert_too_large(streamed)

        # At the limit, the body is read and the caller checked as usual.
        assert (await client.post("/people", content=a_person_of(MIB))).status_code == 401
        created = await client.post(
            "/people",
            json={"name": "A Peer", "region": "York"},
            headers={"authorization": f"Bearer {OPERATOR}"},
        )
        assert created.status_code == 201, created.text


async def test_a_chunked_body_is_cut_off_at_the_limit_not_read_whole(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    """As a server delivers a chunked body: message by message, with no length known. The
    app stops pulling soon after the limit, not after the client's 100 MiB."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    def messages() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for _ in range(100 * MIB // CHUNK):
            pulled += CHUNK
            yield {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}
        yield {"type": "http.request", "body": b"", "more_body": False}

    stream = messages()

    async def receive() -> dict[str, Any]:
        return next(stream)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/people",
        "raw_path": b"/people",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"enrollment"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("enrollment", 80),
    }
    async with enrollment(database_url, nats_url) as (app, _client):
        await app(scope, receive, send)

    assert sent[0]["status"] == 413
    assert b"payload_too_large" in b"".join(m.get("body", b"") for m in sent[1:])
    assert pulled <= MIB + CHUNK


async def test_every_answer_carries_security_headers_and_personal_data_is_not_cached(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with enrollment(database_url, nats_url) as (_app, client):
        operator = {"authorization": f"Bearer {OPERATOR}"}
        person = await client.post(
            "/people", json={"name": "A Peer", "region": "York"}, headers=operator
        )
        answers = {
            "created": person,
            "read": await client.get(f"/people/{person.json()['person_id']}", headers=operator),
            "refused": await client.get("/people/nobody", headers=operator),
            "unauthenticated": await client.get("/people/nobody"),
            "unknown path": await client.get("/nowhere"),
            "openapi": await client.get("/openapi.json"),
        }
        for what, answer in answers.items():
            assert answer.headers["x-content-type-options"] == "nosniff", what
            assert answer.headers["x-frame-options"] == "DENY", what
            assert answer.headers["referrer-policy"] == "no-referrer", what
            assert answer.headers["content-security-policy"] == (
                "default-src 'none'; frame-ancestors 'none'"
            ), what
            assert answer.headers["cache-control"] == "no-store", what

        for path in ("/healthz", "/readyz", "/asyncapi.json"):
            answer = await client.get(path)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert "cache-control" not in answer.headers, path


async def test_no_page_loads_a_script_from_elsewhere_and_the_openapi_document_stays(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with enrollment(database_url, nats_url) as (_app, client):
        document = await client.get("/openapi.json")
        assert document.status_code == 200
        assert "/people" in document.json()["paths"]

        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            page = await client.get(path)
            assert page.status_code == 404, path
            assert "<script" not in page.text
            assert "cdn.jsdelivr.net" not in page.text


async def test_a_client_failing_to_authenticate_too_often_is_answered_429_for_a_while(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with enrollment(database_url, nats_url, auth_failure_limit="3/minute") as (_, client):
        operator = {"authorization": f"Bearer {OPERATOR}"}
        for _ in range(5):  # successful calls are not counted
            assert (await client.get("/people/nobody", headers=operator)).status_code == 404
        wrong = {"authorization": "Bearer not-a-token"}
        assert [(await client.get("/people/x", headers=wrong)).status_code for _ in range(3)] == [
            401
        ] * 3

        held_back = await client.get("/people/nobody", headers=operator)
        assert held_back.status_code == 429
        assert held_back.json()["code"] == "too_many_requests"
        assert 1 <= int(held_back.headers["retry-after"]) <= 60
        assert held_back.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/healthz")).status_code == 200


async def test_a_value_the_database_cannot_store_is_a_422_not_a_500(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    """A NUL character passes JSON and the request's own checks; PostgreSQL refuses it in
    text. The answer says so with a code, and does not echo the value."""
    async with enrollment(database_url, nats_url) as (_app, client):
        operator = {"authorization": f"Bearer {OPERATOR}"}
        answer = await client.post(
            "/people", json={"name": "A\u0000Peer", "region": "York"}, headers=operator
        )
        if database_url.startswith("sqlite"):
            assert answer.status_code == 201  # SQLite stores it
            return
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_value"
        assert "Peer" not in answer.text
