"""The audit trail on the HTTP face: what is recorded, and `GET /audit` for operators.

Recorded: every request by an operator or a trainer (a read or change of a person's
record, an operator action, reading the trail itself), and every refused request, whoever
sent it: 401 `unauthorized`, 403 `forbidden`, 429 `rate_limited`, and a person's token
answered 404 for a record not theirs, `not_own_record` (the services answer it as if the
record did not exist). A person's token answered 404 on a route without a person in its
path (an application's id, a person named in the body) is `not_found`: another's record or
none, the services answer both alike and the trail reads no bodies. A person's own allowed
requests are not recorded. Health, readiness and the API documents never are.

The middleware is plain ASGI and outermost, so it sees every answer. It learns who asked
from `request.state.principal` (set by `bearer_principal`) and the route template and its
path parameters from the scope after routing (an answer given before routing has none).
The entry is written after the answer, in its own transaction on a worker thread; a
failure is logged, the answer stands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import audit
from .auth import Principal, Role
from .messaging.causation import CORRELATION_HEADER

log = structlog.get_logger("ips.audit")

UNAUDITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/asyncapi.json"})
STAFF = frozenset({Role.OPERATOR, Role.TRAINER})
REFUSALS = {401: "unauthorized", 403: "forbidden", 429: "rate_limited"}
PRINCIPAL_STATE = "principal"  # the key under request.state, written by bearer_principal
ANONYMOUS = "anonymous"  # no token, or one not recognised: never the token itself


def install_audit_trail(
    app: FastAPI,
    engine: Engine,
    table: type[audit.AuditColumns],
    operators: Callable[..., Principal],
) -> None:
    """Serve `GET /audit` to `operators` and record requests. Call it after every other
    middleware is added: it has to be the outermost."""
    app.include_router(audit_router(engine, table, operators))
    app.add_middleware(AuditTrail, engine=engine, table=table)


class AuditTrail:
    def __init__(self, app: ASGIApp, engine: Engine, table: type[audit.AuditColumns]) -> None:
        self.app = app
        self.engine = engine
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNAUDITED_PATHS:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with request.state further in
        answer: dict[str, Any] = {"status": 500, "correlation_id": None}

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name.decode("latin-1").lower() == CORRELATION_HEADER.lower():
                        answer["correlation_id"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, observed)
        except Exception:
            await self._record(scope, answer)
            raise
        await self._record(scope, answer)

    async def _record(self, scope: Scope, answer: Mapping[str, Any]) -> None:
        access = self._access(scope, answer["status"], answer["correlation_id"])
        if access is None:
            return
        try:
            await asyncio.to_thread(audit.record, self.engine, self.table, access)
        except Exception as error:
            log.error("audit.write_failed", error=type(error).__name__, action=access.action)

    def _access(self, scope: Scope, status: int, correlation_id: str | None) -> audit.Access | None:
        who = scope["state"].get(PRINCIPAL_STATE)
        if not isinstance(who, Principal):
            who = None
        route = scope.get("route")
        template = getattr(route, "path", None)
        path_params: Mapping[str, Any] = scope.get("path_params", {})
        person_id = path_params.get("person_id")
        reason = refusal(status, who, person_id)
        if reason is None and (who is None or who.role not in STAFF):
            return None
        others = [f"{name}={value}" for name, value in path_params.items() if name != "person_id"]
        return audit.Access(
            at=datetime.now(UTC),
            actor=who.name if who else ANONYMOUS,
            role=who.role.value if who else None,
            action=f"{scope['method']} {template or '(no route)'}",
            person_id=str(person_id) if person_id is not None else None,
            record=", ".join(others) or None,
            status=status,
            reason=reason,
            correlation_id=correlation_id,
        )


def refusal(status: int, who: Principal | None, person_id: str | None) -> str | None:
    """Why access was refused, or None; `person_id` is the one in the route's path."""
    if status in REFUSALS:
        return REFUSALS[status]
    if status != 404 or who is None or who.role != Role.PERSON:
        return None
    if person_id is None:
        return "not_found"
    return "not_own_record" if person_id != who.person_id else None  # their own: not a refusal


# -- GET /audit ----------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    person_id: str | None
    record: str | None
    status: int
    reason: str | None
    correlation_id: str | None


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next: int | None = None  # the `before_id` of the next page; None on the last


def audit_router(
    engine: Engine, table: type[audit.AuditColumns], operators: Callable[..., Principal]
) -> APIRouter:
    api = APIRouter(tags=["audit"])
    operator = Depends(operators)

    @api.get("/audit")
    async def audit_trail(
        person_id: Annotated[str | None, Query(max_length=audit.PERSON_LENGTH)] = None,
        actor: Annotated[str | None, Query(max_length=audit.ACTOR_LENGTH)] = None,
        since: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
        until: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
        before_id: Annotated[int | None, Query(ge=1, description="a page's `next`")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        _: Principal = operator,
    ) -> AuditPage:
        """The audit trail, newest first: reads and changes of people's records by staff,
        operators' actions and refused requests. Filter by person, actor (a token's name,
        `anonymous` for a request without a valid token) and time; page with `before_id`
        set to the previous page's `next`. Reading it is recorded too."""
        query = audit.AuditQuery(person_id, actor, since, until, before_id, limit)
        rows, following = await asyncio.to_thread(audit.entries, engine, table, query)
        return AuditPage(
            entries=[AuditEntryOut.model_validate(row) for row in rows], next=following
        )

    return api
