"""Bearer tokens mapped to roles, from configuration (an identity provider comes later).

`<PREFIX>API_TOKENS` is a JSON object naming each token and holding only its SHA-256
digest, never the token itself:

    {"dana-obh": {"sha256": "<64 hex digits>", "role": "operator"},
     "peer-p-1": {"sha256": "<64 hex digits>", "role": "person", "person_id": "p-1"}}

`ips-<service> token new NAME --role ROLE` mints a token and prints its entry. A person's
token names the one record it may act on; the name is who acted, in the audit trail. The
HTTP checks that use them are in `ips_shared.http`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)


class Role(StrEnum):
    OPERATOR = "operator"
    TRAINER = "trainer"
    PERSON = "person"


def _person_has_record(role: Role, person_id: str | None) -> None:
    if (role == Role.PERSON) != (person_id is not None):
        raise ValueError("a person token names its person_id, and only a person token does")


class Principal(BaseModel):
    """Who a request acts for: the token's name, its role and, for a person, their record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    person_id: str | None = None
    name: str = Field(min_length=1)

    @model_validator(mode="after")
    def _person_has_record(self) -> Principal:
        _person_has_record(self.role, self.person_id)
        return self

    def acts_for(self, person_id: str) -> bool:
        return self.role == Role.OPERATOR or self.person_id == person_id


# A name is printed in the audit trail and in log lines: one line of visible text.
TokenName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class ApiToken(BaseModel):
    """One configured token: the digest of the secret, never the secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the token")
    role: Role
    person_id: str | None = None

    @model_validator(mode="after")
    def _person_has_record(self) -> ApiToken:
        _person_has_record(self.role, self.person_id)
        return self


def _one_name_per_token(tokens: dict[str, ApiToken]) -> dict[str, ApiToken]:
    digests = [token.sha256 for token in tokens.values()]
    if len(set(digests)) != len(digests):
        raise ValueError("two names have the same token: give each client a token of its own")
    return tokens


def _problems_by_position(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Problems are named by the entry's position, never its key: in a configuration
    written before tokens were hashed, the key is a token."""
    try:
        return handler(value)
    except ValidationError as error:
        keys = list(value) if isinstance(value, dict) else []
        problems = []
        for item in error.errors(include_input=False, include_url=False):
            where, *field = item["loc"] or ("",)
            if field[:1] == ["[key]"]:  # the name itself
                field = ["name"]
            entry = [f"entry {keys.index(where) + 1}"] if where in keys else []
            path = [".".join(map(str, field))] if field else []
            problems.append(": ".join([*entry, *path, item["msg"]]))
        hint = 'each entry is NAME: {"sha256": HEX, "role": ...}; `token new NAME` makes one'
        raise ValueError(f"{'; '.join(problems)} ({hint})") from None


ApiTokens = Annotated[
    dict[TokenName, ApiToken],
    WrapValidator(_problems_by_position),
    AfterValidator(_one_name_per_token),
]
"""Token name -> its configured digest and role (`<PREFIX>API_TOKENS`)."""


def token_digest(token: str) -> str:
    """The hex SHA-256 of a token. A fast hash is enough here: the tokens are random with
    256 bits of entropy (`new_token`), so no dictionary or brute-force search can invert
    the digest, which is what a slow password hash guards against for human-chosen
    secrets; and a fast one keeps checking a request cheap."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A new bearer token: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def principals_by_digest(
    tokens: Mapping[str, ApiToken | Mapping[str, str]],
) -> dict[bytes, Principal]:
    """Digest -> principal, for a lookup per request independent of how many tokens exist.
    Takes the entries as configured, validated or not."""
    checked = TypeAdapter(ApiTokens).validate_python(dict(tokens))
    return {
        bytes.fromhex(token.sha256): Principal(
            role=token.role, person_id=token.person_id, name=name
        )
        for name, token in checked.items()
    }


def principal_of(token: str, principals: Mapping[bytes, Principal]) -> Principal | None:
    """The principal a presented token stands for, if any: one dictionary lookup by its
    digest. Unlike comparing the tokens themselves, the lookup's comparison needs no
    constant time: it compares digests, whose bytes a caller cannot steer, and a digest
    learnt from timing would not give its token back."""
    return principals.get(hashlib.sha256(token.encode()).digest())


# Tokens committed to this repository, for `make run` (DEVELOPMENT_TOKENS) and the local
# Kubernetes overlay (LOCAL_CLUSTER_TOKENS). Anyone can read them: production refuses them.
DEVELOPMENT_TOKENS: Mapping[str, Role] = {
    "dev-operator": Role.OPERATOR,
    "dev-trainer": Role.TRAINER,
}
LOCAL_CLUSTER_TOKENS: Mapping[str, Role] = {
    "local-operator": Role.OPERATOR,
    "local-trainer": Role.TRAINER,
}
COMMITTED_TOKEN_DIGESTS = frozenset(
    token_digest(token) for token in (*DEVELOPMENT_TOKENS, *LOCAL_CLUSTER_TOKENS)
)


def token_entry(token: str, role: Role, person_id: str | None = None) -> dict[str, str]:
    """What `<PREFIX>API_TOKENS` holds for a token, under its name (JSON-ready)."""
    entry = ApiToken(sha256=token_digest(token), role=role, person_id=person_id)
    return entry.model_dump(mode="json", exclude_none=True)
