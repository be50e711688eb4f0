"""Bearer tokens mapped to roles, from configuration (an identity provider comes later).

`<PREFIX>API_TOKENS` is a JSON object: token -> {"role": ..., "person_id": ...}. A person's
token names the one record it may act on.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from enum import StrEnum

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, model_validator


class Role(StrEnum):
    OPERATOR = "operator"
    TRAINER = "trainer"
    PERSON = "person"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    person_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _person_has_record(self) -> Principal:
        if (self.role == Role.PERSON) != (self.person_id is not None):
            raise ValueError("a person token names its person_id, and only a person token does")
        return self

    def acts_for(self, person_id: str) -> bool:
        return self.role == Role.OPERATOR or self.person_id == person_id


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        401, {"code": "unauthorized", "detail": detail}, {"WWW-Authenticate": "Bearer"}
    )


def bearer_principal(tokens: Mapping[str, Principal]) -> Callable[[Request], Principal]:
    def principal(request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("A bearer token is required.")
        for known, who in tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return who
        raise _unauthorized("The token is not recognised.")

    return principal


def require(principal: Callable[[Request], Principal], *roles: Role) -> Callable[..., Principal]:
    """A dependency admitting only the given roles."""

    def check(who: Principal = Depends(principal)) -> Principal:  # noqa: B008
        if who.role not in roles:
            raise HTTPException(
                403, {"code": "forbidden", "detail": f"This needs the {' or '.join(roles)} role."}
            )
        return who

    return check
