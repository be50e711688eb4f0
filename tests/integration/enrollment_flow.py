"""Driving enrollment's HTTP API the way operators, trainers and peers do."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from ips_shared.auth import Role, token_entry

OPERATOR, TRAINER = "op-token", "trainer-token"
# Configured as a deployment configures them: by name, with the digest only.
TOKENS = {
    OPERATOR: token_entry(OPERATOR, Role.OPERATOR),
    TRAINER: token_entry(TRAINER, Role.TRAINER),
}


def person_token(person_id: str) -> str:
    return f"person-{person_id}"


class Enrollment:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self, method: str, path: str, token: str = OPERATOR, **body: Any
    ) -> httpx.Response:
        return await self.client.request(
            method, path, json=body or None, headers={"authorization": f"Bearer {token}"}
        )

    async def ok(self, method: str, path: str, token: str = OPERATOR, **body: Any) -> Any:
        answer = await self.call(method, path, token, **body)
        assert answer.status_code < 300, (answer.status_code, answer.text)
        return answer.json()

    async def person(self, name: str = "A Peer", region: str = "Cumberland") -> str:
        created = await self.ok(
            "POST", "/people", name=name, region=region, email="peer@example.org"
        )
        return str(created["person_id"])

    async def ps101_done(self, person_id: str) -> None:
        session = await self.ok(
            "POST",
            "/ps101/sessions",
            starts_at="2026-10-01T13:00:00-04:00",
            place="online",
            capacity=30,
        )
        path = f"/ps101/sessions/{session['session_id']}"
        await self.ok("POST", f"{path}/registrations", person_id=person_id)
        await self.ok(
            "POST", f"{path}/completions", TRAINER, person_id=person_id, completed_on="2026-10-01"
        )

    async def apply(self, person_id: str, token: str = OPERATOR, **extra: Any) -> dict[str, Any]:
        body = {
            "person_id": person_id,
            "self_identifies_as_peer": True,
            "transport": "own_car",
            **extra,
        }
        return await self.ok("POST", "/applications", token, **body)  # type: ignore[no-any-return]

    async def attend_all(
        self, cohort_id: str, person_id: str, first: date = date(2027, 2, 1)
    ) -> list[Any]:
        return [
            await self.ok(
                "POST",
                f"/cohorts/{cohort_id}/attendance",
                TRAINER,
                person_id=person_id,
                day=day,
                attended_on=date(first.year, first.month, first.day + day - 1).isoformat(),
            )
            for day in range(1, 9)
        ]
