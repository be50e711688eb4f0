"""API tokens as configured: named, hashed, minted by `token new`; production refuses to
serve with none or with a token committed to this repository."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI
from typer.testing import CliRunner

from ips_directory.entrypoints.cli import cli as directory_cli
from ips_enrollment.entrypoints.cli import cli as enrollment_cli
from ips_enrollment.settings import EnrollmentSettings
from ips_shared.auth import (
    DEVELOPMENT_TOKENS,
    LOCAL_CLUSTER_TOKENS,
    Principal,
    Role,
    principal_of,
    principals_by_digest,
    token_digest,
    token_entry,
)
from ips_shared.http import bearer_principal, install_error_envelope
from ips_shared.rate_limits import RateLimits
from ips_shared.settings import production_problems

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SERVICES = ("enrollment", "certification", "notifications", "directory")


@pytest.fixture(autouse=True)
def no_service_settings_from_the_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith(("ENROLLMENT_", "DIRECTORY_")):
            monkeypatch.delenv(name)


def mint(*args: str) -> tuple[str, dict[str, dict[str, str]]]:
    result = CliRunner().invoke(enrollment_cli, ["token", "new", *args])
    assert result.exit_code == 0, result.output
    token, entry = result.stdout.splitlines()
    return token, json.loads(entry)


def test_token_new_prints_a_random_token_once_and_an_entry_holding_only_its_digest():
    token, entry = mint("dana-obh", "--role", "operator")
    again, _ = mint("dana-obh", "--role", "operator")

    assert len(token) >= 43 and again != token  # 32 random bytes, URL-safe
    assert entry == {
        "dana-obh": {"sha256": hashlib.sha256(token.encode()).hexdigest(), "role": "operator"}
    }
    assert token not in json.dumps(entry)
    settings = EnrollmentSettings(database_url="sqlite://", api_tokens=entry)
    assert settings.api_tokens["dana-obh"].sha256 == token_digest(token)


def test_token_new_for_a_person_names_their_record_and_only_then():
    _, entry = mint("peer-p-7", "--role", "person", "--person-id", "p-7")
    assert entry["peer-p-7"]["person_id"] == "p-7"

    for args in (["--role", "person"], ["--role", "operator", "--person-id", "p-7"]):
        refused = CliRunner().invoke(enrollment_cli, ["token", "new", "someone", *args])
        assert refused.exit_code == 2, refused.output
        assert "person_id" in refused.output
    unknown_role = CliRunner().invoke(enrollment_cli, ["token", "new", "x", "--role", "admin"])
    assert unknown_role.exit_code == 2


def test_every_service_can_mint_tokens_without_any_settings():
    result = CliRunner().invoke(directory_cli, ["token", "new", "ops", "--role", "operator"])

    assert result.exit_code == 0, result.output
    assert "DIRECTORY_API_TOKENS" in result.stderr


def test_two_names_for_one_token_are_refused():
    entry = token_entry("same", Role.OPERATOR)

    with pytest.raises(ValueError, match="same token"):
        EnrollmentSettings(database_url="sqlite://", api_tokens={"a": entry, "b": entry})


def test_an_empty_digest_is_refused_in_any_environment():
    empty = {"ops": {"sha256": "", "role": "operator"}}

    with pytest.raises(ValueError, match="sha256"):
        EnrollmentSettings(database_url="sqlite://", api_tokens=empty)


# -- production ---------------------------------------------------------------------------


def production(**tokens: dict[str, str]) -> EnrollmentSettings:
    return EnrollmentSettings(database_url="sqlite://", environment="production", api_tokens=tokens)


def serve(monkeypatch, tokens: dict[str, dict[str, str]]):
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("ENROLLMENT_ENVIRONMENT", "production")
    monkeypatch.setenv("ENROLLMENT_API_TOKENS", json.dumps(tokens))
    return CliRunner().invoke(enrollment_cli, ["serve"])


@pytest.mark.parametrize("token", [*DEVELOPMENT_TOKENS, *LOCAL_CLUSTER_TOKENS])
def test_production_refuses_to_serve_with_a_token_committed_to_the_repository(monkeypatch, token):
    fresh, _ = mint("ops", "--role", "operator")
    tokens = {"ops": token_entry(fresh, Role.OPERATOR), "demo": token_entry(token, Role.TRAINER)}

    refused = serve(monkeypatch, tokens)

    assert refused.exit_code == 2
    assert refused.stderr.startswith("EnrollmentSettings:")
    assert "ENROLLMENT_ENVIRONMENT=production" in refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if "ENROLLMENT_API_TOKENS" in line]
    assert "demo" in line and "development token" in line


def test_production_refuses_to_serve_with_no_token(monkeypatch):
    refused = serve(monkeypatch, {})

    assert refused.exit_code == 2
    assert "ENROLLMENT_API_TOKENS: no token is configured" in refused.stderr


def test_production_takes_minted_tokens_and_development_takes_anything():
    fresh, _ = mint("ops", "--role", "operator")

    assert production_problems(production(ops=token_entry(fresh, Role.OPERATOR))) == []
    development = EnrollmentSettings(
        database_url="sqlite://",
        api_tokens={"dev": token_entry("dev-operator", Role.OPERATOR)},
    )
    assert production_problems(development) == []
    assert production_problems(EnrollmentSettings(database_url="sqlite://")) == []


# -- who a request acts for -----------------------------------------------------------------


async def test_a_request_acts_for_the_principal_named_after_its_token():
    tokens = {
        "Dana at OBH": token_entry("dana-token", Role.OPERATOR),
        "peer p-1": token_entry("peer-token", Role.PERSON, "p-1"),
    }
    app = FastAPI()
    app.state.rate_limits = RateLimits(failed_authentication="10/minute", public="10/minute")
    install_error_envelope(app)

    @app.get("/me")
    def me(who: Principal = Depends(bearer_principal(tokens))) -> dict[str, str | None]:  # noqa: B008
        return {"name": who.name, "role": who.role, "person_id": who.person_id}

    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        dana = await client.get("/me", headers={"authorization": "Bearer dana-token"})
        peer = await client.get("/me", headers={"authorization": "bearer peer-token"})
        digest = await client.get(
            "/me", headers={"authorization": f"Bearer {token_digest('dana-token')}"}
        )

    assert dana.json() == {"name": "Dana at OBH", "role": "operator", "person_id": None}
    assert peer.json() == {"name": "peer p-1", "role": "person", "person_id": "p-1"}
    assert digest.status_code == 401  # the configured digest is no token


def test_kubernetes_runs_production_but_the_local_overlay_with_its_committed_tokens():
    for service in SERVICES:
        base = (K8S / "base" / f"{service}.yaml").read_text()
        assert f'{service.upper()}_ENVIRONMENT: "production"' in base
    overlay = (K8S / "overlays" / "local" / "kustomization.yaml").read_text()
    configured = re.findall(r"'tokens=(\{.*\})'", overlay)

    assert len(configured) == len(SERVICES)
    for tokens in configured:
        principals = principals_by_digest(json.loads(tokens))
        for token, role in LOCAL_CLUSTER_TOKENS.items():
            assert principal_of(token, principals) == Principal(role=role, name=token)
    for service in SERVICES:
        assert f'{service.upper()}_ENVIRONMENT: "development"' in overlay
