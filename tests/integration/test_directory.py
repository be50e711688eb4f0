"""The directory end to end on a real nats-server, on both databases: the read model of
certificates from `CertificationStatusChanged`, listing and delisting on each status
event, verification (known, unknown, lapsed), opt-in privacy checked with canary values in
every response, rate limiting, rebuild equals live, and search with filters and pages."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from nats.js import JetStreamContext

from ips_directory.bootstrap import bootstrap
from ips_directory.db import tables
from ips_directory.db.tables import CertificateRecord
from ips_directory.entrypoints.rebuild import rebuild
from ips_directory.settings import DirectorySettings
from ips_shared.auth import ApiToken, Role
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import CertificationStatus, CertificationStatusChanged
from ips_shared.service import Service

from .harness import eventually, migrate_service, publish, rows
from .secured_nats import start_secured

OPERATOR, PERSON, OTHER = "directory-operator-token", "directory-p1-token", "directory-p2-token"
CERTIFICATION = "service/certification"
TODAY = datetime(2027, 6, 15, 16, 0, tzinfo=UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKENS = {
    "ops": ApiToken(sha256=_digest(OPERATOR), role=Role.OPERATOR),
    "peer-1": ApiToken(sha256=_digest(PERSON), role=Role.PERSON, person_id="p-1"),
    "peer-2": ApiToken(sha256=_digest(OTHER), role=Role.PERSON, person_id="p-2"),
}
AS_OPERATOR = {"authorization": f"Bearer {OPERATOR}"}
AS_PERSON = {"authorization": f"Bearer {PERSON}"}
AS_OTHER = {"authorization": f"Bearer {OTHER}"}


def settings(database_url: str, nats_url: str, **extra: Any) -> DirectorySettings:
    return DirectorySettings(
        database_url=database_url,
        nats_url=nats_url,
        relay_poll_seconds=0.1,
        consumer_backoff_seconds=(0.2,),
        api_tokens=TOKENS,
        public_rate_limit=extra.pop("public_rate_limit", "10000/minute"),
        **extra,
    )


@asynccontextmanager
async def directory(
    database_url: str, nats_url: str, **extra: Any
) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    migrate_service(database_url, tables)
    service = bootstrap(settings(database_url, nats_url, **extra), clock=lambda: TODAY)
    app = service.http_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://directory") as client:
            yield service, client


def change(
    person: str,
    new: CertificationStatus,
    reason: str,
    on: date,
    number: str | None = None,
    old: CertificationStatus | None = None,
    **extra: Any,
) -> CloudEvent[Any]:
    data = CertificationStatusChanged(
        person_id=person,
        old_status=old,
        new_status=new,
        reason_code=reason,
        effective_date=on,
        policy_version="2026-1",
        certificate_number=number,
        **extra,
    )
    return CloudEvent.wrap(data, source=CERTIFICATION, partition_key=person)


S = CertificationStatus


def certified(person: str, number: str, on: date = date(2026, 3, 1)) -> list[CloudEvent[Any]]:
    return [
        change(person, S.TRAINED, "training_completed", date(2025, 3, 1)),
        change(person, S.CERTIFIED, "first_year_met", on, number, old=S.TRAINED),
    ]


async def applied(client: httpx.AsyncClient, number: str, status: str) -> None:
    async def check() -> bool:
        answer = await client.get(f"/certificates/{number}")
        return answer.status_code == 200 and answer.json()["status"] == status

    await eventually(check)


async def send(js: JetStreamContext, *events: CloudEvent[Any]) -> None:
    for event in events:
        await publish(js, event)


CANARIES = {
    "display_name": "Canary Name Zq",
    "region": "Canary County Zq",
    "about": "canary line zq",
    "languages": ["Canarese-zq"],
}
SEEN = {"display_name": "Robin Ash", "region": "York", "about": "warmline evenings"}


async def everything_public(client: httpx.AsyncClient, number: str) -> str:
    """Every public answer, as one text."""
    answers = [
        await client.get(f"/certificates/{number}"),
        await client.get("/specialists"),
        await client.get("/specialists", params={"q": "canary"}),
        await client.get("/specialists", params={"q": "zq"}),
        await client.get("/specialists", params={"language": "Canarese-zq"}),
        await client.get("/centers"),
        await client.get("/groups"),
    ]
    return "\n".join(answer.text for answer in answers)


async def test_a_listing_shows_chosen_fields_only_and_follows_each_status_event(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with directory(database_url, nats_url) as (_service, client):
        profile = {
            "listed": True,
            "shown": ["display_name", "region", "settings", "about"],
            **SEEN,
            "settings": ["warmline", "peer_center"],
            "languages": CANARIES["languages"],
        }
        before = await client.put("/people/p-1/profile", json=profile, headers=AS_PERSON)
        hidden = {"listed": True, "shown": ["settings"], "settings": ["act_team"], **CANARIES}
        await client.put("/people/p-2/profile", json=hidden, headers=AS_OPERATOR)
        await send(jetstream, *certified("p-1", "ME-2026-1"), *certified("p-2", "ME-2026-2"))
        await applied(client, "ME-2026-2", "certified")
        listed = (await client.get("/specialists")).json()
        own = (await client.get("/people/p-1/profile", headers=AS_PERSON)).json()
        others = await client.get("/people/p-1/profile", headers=AS_OTHER)
        anonymous = await client.get("/people/p-1/profile")
        canaries_text = await everything_public(client, "ME-2026-2")

        states = {}
        for event, status in (
            (
                change(
                    "p-1",
                    S.AT_RISK,
                    "hours_short_near_year_end",
                    date(2027, 1, 1),
                    year_ends_on=date(2027, 3, 1),
                ),
                "at_risk",
            ),
            (change("p-1", S.LAPSED, "year_ended_unmet", date(2027, 4, 1)), "lapsed"),
            (change("p-1", S.CERTIFIED, "reinstated", date(2027, 4, 20)), "certified"),
            (change("p-1", S.SUSPENDED, "operator_suspended", date(2027, 5, 1)), "suspended"),
            (change("p-1", S.CERTIFIED, "operator_reinstated", date(2027, 5, 2)), "certified"),
            (change("p-1", S.WITHDRAWN, "operator_withdrew", date(2027, 6, 1)), "withdrawn"),
        ):
            await send(jetstream, event)
            await applied(client, "ME-2026-1", status)
            found = (await client.get("/specialists", params={"q": "robin"})).json()
            states[status + str(len(states))] = [item["profile"] for item in found["items"]]

    assert before.status_code == 200 and before.json()["appears"] is False
    assert listed["total"] == 2
    first = next(i for i in listed["items"] if i["profile"]["display_name"])
    assert first["profile"] == {
        "display_name": "Robin Ash",
        "region": "York",
        "settings": ["warmline", "peer_center"],
        "languages": [],  # entered, not chosen
        "about": "warmline evenings",
    }
    assert first["status"] == "certified" and first["valid_through"] == "2028-03-01"
    assert set(first) == {"profile", "status", "valid_through"}  # no id, no number
    second = next(i for i in listed["items"] if not i["profile"]["display_name"])
    assert second["profile"]["settings"] == ["act_team"]
    assert own["appears"] is True and own["languages"] == CANARIES["languages"]
    assert others.status_code == 404 and others.json()["code"] == "unknown_person"
    assert anonymous.status_code == 401
    for value in (*CANARIES.values(), "p-1", "p-2"):
        for text in value if isinstance(value, list) else [value]:
            assert text.casefold() not in canaries_text.casefold(), text
    shown = [SEEN["display_name"]]
    assert [[p["display_name"] for p in found] for found in states.values()] == [
        shown,  # at risk: still listed
        [],  # lapsed
        shown,  # reinstated: as it was
        [],  # suspended
        shown,
        [],  # withdrawn
    ]


async def test_verification_says_status_and_dates_only(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with directory(database_url, nats_url) as (_service, client):
        await send(
            jetstream,
            *certified("p-1", "ME-2026-1"),
            *certified("p-2", "ME-2026-2"),
            change("p-2", S.AT_RISK, "year_ended_unmet", date(2027, 3, 1)),
            change("p-2", S.LAPSED, "year_ended_unmet", date(2027, 3, 31)),
            change("p-3", S.TRAINED, "training_completed", date(2027, 1, 1)),
        )
        await applied(client, "ME-2026-2", "lapsed")
        known = await client.get("/certificates/ME-2026-1")
        lapsed = await client.get("/certificates/ME-2026-2")
        unknown = await client.get("/certificates/ME-2026-999")
        malformed = await client.get("/certificates/ME 2026 secret!")

    assert known.status_code == 200
    assert known.json() == {
        "certificate_number": "ME-2026-1",
        "status": "certified",
        "certified_since": "2026-03-01",
        "valid_through": "2028-03-01",
        "lapsed_since": None,
    }
    assert lapsed.json() == {
        "certificate_number": "ME-2026-2",
        "status": "lapsed",
        "certified_since": None,
        "valid_through": None,
        "lapsed_since": "2027-03-31",
    }
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_certificate"
    assert "999" not in unknown.text
    assert malformed.status_code == 422 and "secret" not in malformed.text


async def test_public_calls_are_rate_limited_per_client(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with directory(database_url, nats_url, public_rate_limit="3/minute") as (_s, client):
        answers = [await client.get("/certificates/ME-2026-1") for _ in range(3)]
        limited = await client.get("/certificates/ME-2026-1")
        search_limited = await client.get("/specialists")
        # Authenticated routes are not counted against the public limit.
        own = await client.get("/people/p-1/profile", headers=AS_PERSON)
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_requests"
    assert "Retry-After" in limited.headers
    assert search_limited.status_code == 429
    assert own.status_code == 200


def _model(database_url: str) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r.person_id,
            r.number,
            r.status,
            r.status_since,
            r.certified_since,
            r.anniversary,
            r.year_ends_on,
            r.lapsed_since,
            r.event_id,
        )
        for r in rows(database_url, CertificateRecord)
    )


async def test_the_rebuilt_read_model_equals_the_live_one(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    history = [
        *certified("p-1", "ME-2026-1"),
        *certified("p-2", "ME-2026-2", on=date(2026, 5, 2)),
        change(
            "p-2",
            S.AT_RISK,
            "hours_short_near_year_end",
            date(2027, 3, 3),
            year_ends_on=date(2027, 5, 2),
        ),
        change("p-2", S.LAPSED, "year_ended_unmet", date(2027, 6, 1)),
        change("p-3", S.TRAINED, "training_completed", date(2026, 9, 1)),
        change("p-1", S.SUSPENDED, "operator_suspended", date(2027, 1, 5)),
        change("p-1", S.CERTIFIED, "operator_reinstated", date(2027, 2, 5)),
    ]
    async with directory(database_url, nats_url) as (_service, client):
        await send(jetstream, *history)
        await applied(client, "ME-2026-1", "certified")
        await applied(client, "ME-2026-2", "lapsed")
        await eventually(lambda: len(_model(database_url)) == 3)
        live = _model(database_url)
    rebuilt_service = bootstrap(settings(database_url, nats_url), clock=lambda: TODAY)
    checked = await rebuild(rebuilt_service, dry_run=True)
    assert checked.differences == [] and not checked.committed
    # A model gone wrong (a row lost, another changed) is made right again.
    with rebuilt_service.runtime.unit_of_work() as uow:
        uow.session.delete(uow.session.get(CertificateRecord, "p-3"))
        row = uow.session.get(CertificateRecord, "p-1")
        assert row is not None
        row.status = "withdrawn"
        uow.session.add(row)
        uow.commit()
    assert _model(database_url) != live
    done = await rebuild(bootstrap(settings(database_url, nats_url), clock=lambda: TODAY))
    assert done.events == len(history) and done.skipped == 0 and done.people == 3
    assert done.differences == ["p-1", "p-3"] and done.committed
    assert _model(database_url) == live
    # The live consumer goes on from there: nothing applied twice, new events applied.
    async with directory(database_url, nats_url) as (_service, client):
        await send(jetstream, change("p-2", S.CERTIFIED, "reinstated", date(2027, 6, 10)))
        await applied(client, "ME-2026-2", "certified")
    assert {row[0]: row[2] for row in _model(database_url)}["p-1"] == "certified"


async def test_the_rebuild_runs_under_the_directory_s_own_nats_identity(
    database_url: str, tmp_path: Path
) -> None:
    """On a secured server (as `make run` and production run it) the directory's identity
    may make its rebuild consumer (`permissions.REPLAYS`), read through it and delete it;
    nothing else is needed."""
    secured = await start_secured(tmp_path)
    try:
        async with secured.connected_as("service/certification") as certification:
            event = change("p-1", S.CERTIFIED, "first_year_met", date(2026, 9, 1), "ME-2026-1")
            await publish(certification.connection.jetstream(), event)
        migrate_service(database_url, tables)
        as_directory = settings(
            database_url,
            secured.url,
            nats_credentials=secured.credentials_file("service/directory"),
        )
        done = await rebuild(bootstrap(as_directory, clock=lambda: TODAY))
        assert (done.events, done.skipped, done.people, done.committed) == (1, 0, 1, True)
        async with secured.connected_as("admin") as admin:
            left = await admin.connection.jetstream().consumers_info("CERTIFICATION")
            assert [info.name for info in left] == []
    finally:
        secured.server.stop()


CENTER = {
    "name": "Harbor Peer Center",
    "town": "Portland",
    "county": "Cumberland",
    "opening_hours": "Mon-Fri 9:00-16:00",
    "rooms": ["living room", "art room"],
}


async def test_search_filters_pages_and_the_operators_api(
    jetstream: JetStreamContext, database_url: str, nats_url: str
) -> None:
    async with directory(database_url, nats_url) as (_service, client):
        events = []
        for n in range(1, 8):
            person = f"p-{n}"
            events += certified(person, f"ME-2026-{n}")
            profile = {
                "listed": n != 7,
                "shown": ["display_name", "region", "settings", "languages"],
                "display_name": f"Peer {chr(ord('G') - n)}lder",
                "region": "York" if n % 2 else "Penobscot",
                "settings": ["warmline"] if n <= 3 else ["emergency_department"],
                "languages": ["English", "Spanish"] if n in (2, 5) else ["English"],
            }
            await client.put(f"/people/{person}/profile", json=profile, headers=AS_OPERATOR)
        await send(jetstream, *events)
        await applied(client, "ME-2026-7", "certified")

        async def names(**params: Any) -> tuple[list[str], int]:
            body = (await client.get("/specialists", params=params)).json()
            return [i["profile"]["display_name"] for i in body["items"]], body["total"]

        everyone = await names()
        page_two = await names(page=2, page_size=4)
        york = await names(region="york")
        spanish = await names(language="spanish")
        warmline_york = await names(setting="warmline", region="York ")
        by_text = await names(q="peer BLD")
        none = await names(q="nobody-at-all")
        operators_only = [
            await client.post("/centers", json=CENTER),
            await client.post("/centers", json=CENTER, headers=AS_PERSON),
        ]
        harbor = (await client.post("/centers", json=CENTER, headers=AS_OPERATOR)).json()
        other = {**CENTER, "name": "Lakeside Center", "town": "Bangor", "county": "Penobscot"}
        lakeside = (await client.post("/centers", json=other, headers=AS_OPERATOR)).json()
        added = await client.put(
            "/group-types/hearing_voices", json={"label": "Hearing voices"}, headers=AS_OPERATOR
        )
        groups = {}
        for center, body in (
            (
                harbor,
                {
                    "type_code": "art",
                    "name": "Open studio",
                    "meetings": [
                        {
                            "weekday": "tuesday",
                            "starts_at": "13:00",
                            "ends_at": "15:00",
                            "last_month": "2027-06",
                        },
                        {"weekday": "thursday", "starts_at": "13:00", "first_month": "2027-07"},
                    ],
                },
            ),
            (
                harbor,
                {
                    "type_code": "different_realities",
                    "name": "Exploring realities",
                    "meetings": [{"weekday": "monday", "starts_at": "18:00"}],
                },
            ),
            (
                lakeside,
                {
                    "type_code": "hearing_voices",
                    "name": "Voices circle",
                    "meetings": [{"weekday": "tuesday", "starts_at": "10:00"}],
                },
            ),
        ):
            answer = await client.post(
                f"/centers/{center['center_id']}/groups", json=body, headers=AS_OPERATOR
            )
            assert answer.status_code == 201, answer.text
            groups[body["name"]] = answer.json()
        bad_type = await client.post(
            f"/centers/{harbor['center_id']}/groups",
            json={"type_code": "no_such_type", "name": "X"},
            headers=AS_OPERATOR,
        )
        in_use = await client.delete("/group-types/hearing_voices", headers=AS_OPERATOR)
        built_in = await client.delete("/group-types/art", headers=AS_OPERATOR)
        renamed = await client.put(
            f"/centers/{lakeside['center_id']}",
            json={**other, "name": "Lakeside Peer Center"},
            headers=AS_OPERATOR,
        )

        async def group_names(**params: Any) -> list[str]:
            body = (await client.get("/groups", params=params)).json()
            return [g["name"] for g in body["items"]]

        tuesday = await group_names(day="tuesday")
        tuesday_july = await group_names(day="tuesday", month="2027-07")
        july = (await client.get("/groups", params={"month": "2027-07", "q": "studio"})).json()
        by_center_name = await group_names(q="lakeside peer")
        penobscot = await group_names(county="penobscot")
        art = await group_names(type="art")
        centers = (await client.get("/centers", params={"q": "portland"})).json()
        one = (await client.get(f"/centers/{harbor['center_id']}")).json()
        types = [t["code"] for t in (await client.get("/group-types")).json()]
        gone = await client.delete(f"/centers/{harbor['center_id']}", headers=AS_OPERATOR)
        after = await group_names()
        audit = (await client.get("/audit", headers=AS_OPERATOR)).json()

    assert everyone == (
        ["Peer Alder", "Peer Blder", "Peer Clder", "Peer Dlder", "Peer Elder", "Peer Flder"],
        6,
    )
    assert page_two == (["Peer Elder", "Peer Flder"], 6)
    assert york == (["Peer Blder", "Peer Dlder", "Peer Flder"], 3)
    assert spanish == (["Peer Blder", "Peer Elder"], 2)
    assert warmline_york == (["Peer Dlder", "Peer Flder"], 2)
    assert by_text == (["Peer Blder"], 1)
    assert none == ([], 0)
    assert [a.status_code for a in operators_only] == [401, 403]
    assert added.status_code == 200 and added.json()["built_in"] is False
    assert bad_type.status_code == 422 and bad_type.json()["code"] == "unknown_group_type"
    assert in_use.status_code == 409 and in_use.json()["code"] == "group_type_in_use"
    assert built_in.status_code == 409 and built_in.json()["code"] == "built_in_group_type"
    assert renamed.status_code == 200
    assert tuesday == ["Voices circle", "Open studio"]
    assert tuesday_july == ["Voices circle"]
    assert [m["weekday"] for m in july["items"][0]["meetings"]] == ["thursday"]
    assert by_center_name == ["Voices circle"]
    assert penobscot == ["Voices circle"]
    assert art == ["Open studio"]
    assert centers["total"] == 1 and centers["items"][0]["center"]["name"] == CENTER["name"]
    assert one["center"]["no_referral_or_insurance_needed"] is True
    assert [g["name"] for g in one["groups"]] == ["Exploring realities", "Open studio"]
    assert {"art", "different_realities", "hearing_voices", "lgbtqia"} <= set(types)
    assert gone.status_code == 204 and after == ["Voices circle"]
    actions = {entry["action"] for entry in audit["entries"]}
    assert "POST /centers" in actions and "DELETE /centers/{center_id}" in actions
