"""The audit trail of access, on the services' real apps (real NATS, SQLite and
PostgreSQL): staff reads and changes of a person's record, operators' actions and every
refusal are recorded with actor, action, record, time and reason; nothing sent in a body
or query is; `GET /audit` serves operators alone, filtered and paged; the table refuses
UPDATE and DELETE.

A person's own allowed requests are not recorded (the trail is about staff and refusals)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from structlog.testing import capture_logs

from ips_certification.bootstrap import bootstrap as certification_bootstrap
from ips_certification.db import tables as certification_tables
from ips_certification.settings import CertificationSettings
from ips_enrollment.bootstrap import bootstrap as enrollment_bootstrap
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_shared import audit, http_audit
from ips_shared.auth import Role, token_entry
from ips_shared.contracts import streams
from ips_shared.db import create_db_engine
from ips_shared.messaging.streams import declare_streams

from .harness import migrate_service, rows

OPERATOR, OTHER_OPERATOR, TRAINER = "op-1-token", "op-2-token", "trainer-1-token"
PERSON, OTHER_PERSON = "p-self", "p-other"
PERSON_TOKEN = "person-self-token"
TOKENS = {  # name -> the entry of the token; the name is the actor in the trail
    "Dana at OBH": token_entry(OPERATOR, Role.OPERATOR),
    "Sam at OBH": token_entry(OTHER_OPERATOR, Role.OPERATOR),
    "Tess the trainer": token_entry(TRAINER, Role.TRAINER),
    "peer p-self": token_entry(PERSON_TOKEN, Role.PERSON, PERSON),
}
# What is sent in bodies and queries: none of it may reach the trail.
SECRETS = (
    "Zelda Secretname",
    "zelda@secret.example",
    "Secretcounty",
    "secret-reason",
    "secret-src",
)
BAD_TOKEN = "not-a-token-but-a-password-1234"


class Api:
    def __init__(self, client: httpx.AsyncClient, database_url: str, table: Any) -> None:
        self.client, self.database_url, self.table = client, database_url, table

    async def call(
        self, method: str, path: str, token: str | None = OPERATOR, **options: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.client.request(method, path, headers=headers, **options)

    def trail(self) -> list[Any]:
        return sorted(rows(self.database_url, self.table), key=lambda entry: entry.id)

    def last(self) -> Any:
        return self.trail()[-1]


@asynccontextmanager
async def serving(app: FastAPI, database_url: str, table: Any) -> AsyncIterator[Api]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://svc") as client,
    ):
        yield Api(client, database_url, table)


@pytest.fixture
async def enrollment(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> AsyncIterator[Api]:
    await declare_streams(jetstream, streams.owned_by("enrollment"))
    migrate_service(database_url, enrollment_tables)
    settings = EnrollmentSettings(
        database_url=database_url, nats_url=nats_url, relay_poll_seconds=0.05, api_tokens=TOKENS
    )
    app = enrollment_bootstrap(settings).http_app()
    async with serving(app, database_url, enrollment_tables.AuditEntry) as api:
        yield api


@pytest.fixture
async def certification(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> AsyncIterator[Api]:
    await declare_streams(jetstream, [streams.ENROLLMENT, *streams.owned_by("certification")])
    migrate_service(database_url, certification_tables)
    settings = CertificationSettings(
        database_url=database_url, nats_url=nats_url, relay_poll_seconds=0.05, api_tokens=TOKENS
    )
    app = certification_bootstrap(settings).http_app()
    async with serving(app, database_url, certification_tables.AuditEntry) as api:
        yield api


def assert_no_secrets(trail: list[Any]) -> None:
    for entry in trail:
        for value in entry.model_dump().values():
            for secret in (*SECRETS, BAD_TOKEN):
                assert secret not in str(value), (secret, entry)


async def test_staff_reads_and_changes_are_recorded_with_actor_action_record_and_time(
    enrollment: Api,
) -> None:
    before = datetime.now(UTC)
    created = await enrollment.call(
        "POST",
        "/people",
        json={
            "person_id": OTHER_PERSON,
            "name": SECRETS[0],
            "email": SECRETS[1],
            "region": SECRETS[2],
        },
    )
    assert created.status_code == 201, created.text
    change = enrollment.last()
    assert (change.actor, change.role, change.action, change.status) == (
        "Dana at OBH",
        "operator",
        "POST /people",
        201,
    )
    assert change.person_id is None and change.reason is None  # the id was in the body

    read = await enrollment.call("GET", f"/people/{OTHER_PERSON}")
    assert read.status_code == 200
    entry = enrollment.last()
    assert entry.actor == "Dana at OBH"
    assert entry.action == "GET /people/{person_id}"
    assert entry.person_id == OTHER_PERSON
    assert (entry.status, entry.reason) == (200, None)
    assert before <= entry.at <= datetime.now(UTC)
    assert entry.correlation_id == read.headers["x-correlation-id"]

    capacity = await enrollment.call("PUT", "/cohorts/2027-spring/capacity", json={"capacity": 25})
    assert capacity.status_code == 200, capacity.text
    entry = enrollment.last()
    assert (entry.action, entry.record, entry.status) == (
        "PUT /cohorts/{cohort_id}/capacity",
        "cohort_id=2027-spring",
        200,
    )

    # A trainer's change (a Peer Support 101 completion) is recorded; no route lets a
    # trainer read a record, and the attempt is recorded as refused.
    session = await enrollment.call(
        "POST",
        "/ps101/sessions",
        json={"starts_at": "2026-10-01T13:00:00-04:00", "place": "online", "capacity": 3},
    )
    session_id = session.json()["session_id"]
    registered = await enrollment.call(
        "POST", f"/ps101/sessions/{session_id}/registrations", json={"person_id": OTHER_PERSON}
    )
    assert registered.status_code == 201
    completed = await enrollment.call(
        "POST",
        f"/ps101/sessions/{session_id}/completions",
        TRAINER,
        json={"person_id": OTHER_PERSON, "completed_on": "2026-10-01"},
    )
    assert completed.status_code == 201, completed.text
    entry = enrollment.last()
    assert (entry.actor, entry.role, entry.action, entry.record, entry.status) == (
        "Tess the trainer",
        "trainer",
        "POST /ps101/sessions/{session_id}/completions",
        f"session_id={session_id}",
        201,
    )
    assert (await enrollment.call("GET", f"/people/{OTHER_PERSON}", TRAINER)).status_code == 403
    entry = enrollment.last()
    assert (entry.actor, entry.person_id, entry.reason) == (
        "Tess the trainer",
        OTHER_PERSON,
        "forbidden",
    )

    # Health, readiness and the documents are not recorded, whoever asks.
    recorded = len(enrollment.trail())
    for path in ("/healthz", "/readyz", "/openapi.json", "/asyncapi.json"):
        await enrollment.call("GET", path)
    assert len(enrollment.trail()) == recorded
    assert_no_secrets(enrollment.trail())


async def test_refusals_are_recorded_with_their_reason_and_a_persons_own_reads_are_not(
    enrollment: Api,
) -> None:
    for person_id in (PERSON, OTHER_PERSON):
        created = await enrollment.call(
            "POST", "/people", json={"person_id": person_id, "name": "A Peer", "region": "York"}
        )
        assert created.status_code == 201
    recorded = len(enrollment.trail())

    # Their own record: allowed, not recorded.
    assert (await enrollment.call("GET", f"/people/{PERSON}", PERSON_TOKEN)).status_code == 200
    assert len(enrollment.trail()) == recorded

    # Another's record: answered as absent, recorded for what it was.
    another = await enrollment.call("GET", f"/people/{OTHER_PERSON}/applications", PERSON_TOKEN)
    assert another.status_code == 404
    entry = enrollment.last()
    assert (entry.actor, entry.role, entry.action, entry.person_id, entry.status, entry.reason) == (
        "peer p-self",
        "person",
        "GET /people/{person_id}/applications",
        OTHER_PERSON,
        404,
        "not_own_record",
    )
    # Named in a body, the record is not known to the trail: recorded as not found.
    applied = await enrollment.call(
        "POST",
        "/applications",
        PERSON_TOKEN,
        json={"person_id": OTHER_PERSON, "self_identifies_as_peer": True, "transport": "own_car"},
    )
    assert applied.status_code == 404
    assert (enrollment.last().action, enrollment.last().reason) == (
        "POST /applications",
        "not_found",
    )

    # No token, an unknown token, a role without the right.
    assert (await enrollment.call("GET", f"/people/{OTHER_PERSON}", None)).status_code == 401
    entry = enrollment.last()
    assert (entry.actor, entry.role, entry.person_id, entry.status, entry.reason) == (
        "anonymous",
        None,
        OTHER_PERSON,
        401,
        "unauthorized",
    )
    # An id too long for the column is cut, not a reason to lose the entry.
    assert (await enrollment.call("GET", f"/people/{'x' * 1000}", None)).status_code == 401
    assert enrollment.last().person_id == "x" * audit.PERSON_LENGTH
    assert (await enrollment.call("GET", f"/people/{OTHER_PERSON}", BAD_TOKEN)).status_code == 401
    assert (enrollment.last().actor, enrollment.last().reason) == ("anonymous", "unauthorized")
    refused = await enrollment.call(
        "PUT", "/cohorts/2027-spring/capacity", PERSON_TOKEN, json={"capacity": 2}
    )
    assert refused.status_code == 403
    entry = enrollment.last()
    assert (entry.actor, entry.action, entry.record, entry.reason) == (
        "peer p-self",
        "PUT /cohorts/{cohort_id}/capacity",
        "cohort_id=2027-spring",
        "forbidden",
    )
    assert_no_secrets(enrollment.trail())


async def test_certification_records_operator_actions_without_their_reasons_or_queries(
    certification: Api,
) -> None:
    suspended = await certification.call(
        "POST", f"/people/{OTHER_PERSON}/suspend", json={"reason": SECRETS[3]}
    )
    assert suspended.status_code == 404  # not known to certification: still an action tried
    entry = certification.last()
    assert (entry.actor, entry.action, entry.person_id, entry.status, entry.reason) == (
        "Dana at OBH",
        "POST /people/{person_id}/suspend",
        OTHER_PERSON,
        404,
        None,
    )
    voided = await certification.call(
        "POST", "/hours/ev-1/void", params={"source": SECRETS[4]}, json={"reason": SECRETS[3]}
    )
    assert voided.status_code == 404
    assert (certification.last().action, certification.last().record) == (
        "POST /hours/{event_id}/void",
        "event_id=ev-1",
    )
    # Their own record, not known to certification yet: answered 404, not a refusal.
    recorded = len(certification.trail())
    own = await certification.call("GET", f"/people/{PERSON}/status", PERSON_TOKEN)
    assert own.status_code == 404
    assert len(certification.trail()) == recorded

    status = await certification.call("GET", f"/people/{OTHER_PERSON}/status", PERSON_TOKEN)
    assert status.status_code == 404
    assert (certification.last().person_id, certification.last().reason) == (
        OTHER_PERSON,
        "not_own_record",
    )
    page = await certification.call("GET", "/audit", params={"person_id": OTHER_PERSON})
    assert [e["action"] for e in page.json()["entries"]] == [
        "GET /people/{person_id}/status",
        "POST /people/{person_id}/suspend",
    ]
    assert_no_secrets(certification.trail())


async def test_operators_query_the_trail_by_person_actor_and_time_and_page_through_it(
    enrollment: Api,
) -> None:
    for person_id in (PERSON, OTHER_PERSON):
        await enrollment.call(
            "POST", "/people", json={"person_id": person_id, "name": "A Peer", "region": "York"}
        )
    for _ in range(3):
        await enrollment.call("GET", f"/people/{PERSON}", OPERATOR)
    for _ in range(2):
        await enrollment.call("GET", f"/people/{OTHER_PERSON}", OTHER_OPERATOR)
    await enrollment.call("GET", f"/people/{OTHER_PERSON}", None)

    async def page(**query: Any) -> dict[str, Any]:
        answer = await enrollment.call("GET", "/audit", params=query)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    everything = (await page(limit=500))["entries"]
    ids = [entry["id"] for entry in everything]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert len(everything) == 8 and everything[0]["actor"] == "anonymous"

    by_person = (await page(person_id=OTHER_PERSON))["entries"]
    assert [(e["actor"], e["status"]) for e in by_person] == [
        ("anonymous", 401),
        ("Sam at OBH", 200),
        ("Sam at OBH", 200),
    ]
    by_actor = (await page(actor="Sam at OBH"))["entries"]
    assert len(by_actor) == 2 and {e["person_id"] for e in by_actor} == {OTHER_PERSON}
    assert {e["actor"] for e in (await page(actor="anonymous"))["entries"]} == {"anonymous"}

    # Reading the trail is recorded too.
    reads_of_the_trail = (await page(actor="Dana at OBH", limit=500))["entries"]
    assert sum(e["action"] == "GET /audit" for e in reads_of_the_trail) == 4

    # A time window: since inclusive, until exclusive.
    reads = (await page(person_id=PERSON))["entries"][::-1]  # oldest first
    assert len(reads) == 3
    middle = reads[1]["at"]
    window = (await page(person_id=PERSON, since=middle))["entries"]
    assert [e["id"] for e in window] == [reads[2]["id"], reads[1]["id"]]
    window = (await page(person_id=PERSON, until=middle))["entries"]
    assert [e["id"] for e in window] == [reads[0]["id"]]
    window = (await page(person_id=PERSON, since=reads[0]["at"], until=reads[2]["at"]))["entries"]
    assert [e["id"] for e in window] == [reads[1]["id"], reads[0]["id"]]

    # Pages of two, following `next`, give what one page gives.
    first = await page(person_id=PERSON, limit=2)
    assert len(first["entries"]) == 2 and first["next"] == first["entries"][-1]["id"]
    second = await page(person_id=PERSON, limit=2, before_id=first["next"])
    assert len(second["entries"]) == 1 and second["next"] is None
    paged = [e["id"] for e in first["entries"] + second["entries"]]
    assert paged == [e["id"] for e in reads[::-1]]

    # Only aware times, and at most 500 a page.
    for query in ({"since": "2027-01-01T00:00:00"}, {"limit": 501}):
        assert (await enrollment.call("GET", "/audit", params=query)).status_code == 422


async def test_only_operators_read_the_trail_and_the_refusals_are_recorded(
    enrollment: Api,
) -> None:
    for token in (TRAINER, PERSON_TOKEN):
        answer = await enrollment.call("GET", "/audit", token)
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"
        assert (enrollment.last().action, enrollment.last().reason) == ("GET /audit", "forbidden")
    assert (await enrollment.call("GET", "/audit", None)).status_code == 401
    assert (enrollment.last().actor, enrollment.last().reason) == ("anonymous", "unauthorized")


async def test_a_failed_write_is_logged_and_the_answer_stands(
    enrollment: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(http_audit.audit, "record", broken)
    with capture_logs() as logs:
        answer = await enrollment.call(
            "POST", "/people", json={"person_id": PERSON, "name": "A Peer", "region": "York"}
        )
    assert answer.status_code == 201
    failures = [line for line in logs if line["event"] == "audit.write_failed"]
    assert failures == [
        {
            "event": "audit.write_failed",
            "error": "RuntimeError",
            "action": "POST /people",
            "log_level": "error",
        }
    ]


async def test_too_many_failed_authentications_are_recorded_as_rate_limited(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    migrate_service(database_url, enrollment_tables)
    settings = EnrollmentSettings(
        database_url=database_url,
        nats_url=nats_url,
        api_tokens=TOKENS,
        auth_failure_limit="2/minute",
    )
    app = enrollment_bootstrap(settings).http_app()
    async with serving(app, database_url, enrollment_tables.AuditEntry) as api:
        # Past the limit, even a good token is answered 429, before it is looked at.
        answers = [
            (await api.call("GET", f"/people/{PERSON}", token)).status_code
            for token in (BAD_TOKEN, BAD_TOKEN, OPERATOR)
        ]
        assert answers == [401, 401, 429]
        trail = api.trail()
    assert [(e.actor, e.action, e.person_id, e.status, e.reason) for e in trail] == [
        ("anonymous", "GET /people/{person_id}", PERSON, 401, "unauthorized"),
        ("anonymous", "GET /people/{person_id}", PERSON, 401, "unauthorized"),
        ("anonymous", "GET /people/{person_id}", PERSON, 429, "rate_limited"),
    ]
    assert_no_secrets(trail)


def test_the_trail_refuses_update_and_delete(database_url: str, database_kind: str) -> None:
    """Required of PostgreSQL (a trigger in the migration); SQLite has one too."""
    migrate_service(database_url, enrollment_tables)
    engine = create_db_engine(database_url)
    try:
        access = audit.Access(
            at=datetime.now(UTC),
            actor="Dana at OBH",
            role="operator",
            action="GET /people/{person_id}",
            person_id=PERSON,
            record=None,
            status=200,
            reason=None,
            correlation_id=None,
        )
        audit.record(engine, enrollment_tables.AuditEntry, access)
        changes = ["UPDATE audit_entry SET actor = 'someone else'", "DELETE FROM audit_entry"]
        if database_kind == "postgresql":
            changes.append("TRUNCATE audit_entry")
        for change in changes:
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text(change))
        [entry] = rows(database_url, enrollment_tables.AuditEntry)
        assert entry.actor == "Dana at OBH"
    finally:
        engine.dispose()
