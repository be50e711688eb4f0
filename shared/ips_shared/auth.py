"""Bearer tokens mapped to roles, from configuration (an identity provider comes later).

`<PREFIX>API_TOKENS` is a JSON object: token -> {"role": ..., "person_id": ...}. A person's
token names the one record it may act on. The HTTP checks that use them are in
`ips_shared.http`.
"""

from __future__ import annotations

from enum import StrEnum

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
