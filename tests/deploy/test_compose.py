"""deploy/compose: the one-host deployment parses and refers only to images, services and
files that exist; every service waits for what it needs, in the right condition."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ips_shared.nats_access import AccessDirectory

from .conftest import COMPOSE, PORTS, ROOT, SERVICES, nats_server_version

CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# Provided by the operator (certificates), kept out of git: named by the TLS override.
OPERATOR_PROVIDED = {COMPOSE / "tls"}


def load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((COMPOSE / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load("compose.yml")


def _bind_sources(service: dict[str, Any]) -> list[str]:
    return [v.split(":", 1)[0] for v in service.get("volumes", []) if v.startswith((".", "/"))]


def _named_volumes(service: dict[str, Any]) -> list[str]:
    return [v.split(":", 1)[0] for v in service.get("volumes", []) if not v.startswith((".", "/"))]


def test_the_services_of_a_one_host_deployment(compose):
    expected = {"access", "nats", "postgres"}
    expected |= {f"{s}-setup" for s in SERVICES} | set(SERVICES)
    assert set(compose["services"]) == expected


def test_images_are_built_here_or_pinned(compose):
    dockerfiles = set()
    for name, service in compose["services"].items():
        image = service["image"]
        if "build" in service:
            build = service["build"]
            assert build["args"]["SERVICE"] in SERVICES, name
            assert image == f"ips-{build['args']['SERVICE']}:${{IPS_TAG:-dev}}", name
            context = (COMPOSE / build["context"]).resolve()
            assert context == ROOT, name
            dockerfiles.add(context / build["dockerfile"])
        else:
            assert re.fullmatch(r"[a-z0-9./-]+:[0-9][\w.-]*", image), f"{name}: {image} not pinned"
    assert dockerfiles == {ROOT / "deploy" / "docker" / "Dockerfile"}
    assert compose["services"]["nats"]["image"] == f"nats:{nats_server_version()}-alpine"


@pytest.mark.parametrize("name", ["compose.yml", "compose.tls.yml"])
def test_files_and_volumes_referred_to_exist(name, compose):
    document = load(name)
    declared = set(compose.get("volumes") or {})
    for service_name, service in document["services"].items():
        assert service_name in compose["services"], f"{name}: unknown service {service_name}"
        for source in _bind_sources(service):
            path = (COMPOSE / source).resolve()
            assert path.exists() or path in OPERATOR_PROVIDED, f"{service_name}: {source}"
        for volume in _named_volumes(service):
            assert volume in declared, f"{service_name}: volume {volume} not declared"


def test_dependencies_name_existing_services_in_a_condition_they_can_meet(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = condition["condition"]
            assert condition in CONDITIONS, name
            one_shot = services[dependency].get("restart") == "no"
            if one_shot:
                assert condition == "service_completed_successfully", f"{name} -> {dependency}"
            else:
                assert condition == "service_healthy", f"{name} -> {dependency}"
                assert "healthcheck" in services[dependency], dependency
    for service in SERVICES:
        needs = services[service]["depends_on"]
        # The streams a service reads may be another's: it waits for every setup.
        assert {f"{s}-setup" for s in SERVICES} | {"nats", "postgres"} <= needs.keys()
        setup = services[f"{service}-setup"]["depends_on"]
        assert setup.keys() == {"nats", "postgres"}
    assert services["nats"]["depends_on"] == {
        "access": {"condition": "service_completed_successfully"}
    }


def test_long_running_containers_are_health_checked_and_hardened(compose):
    for name, service in compose["services"].items():
        if service.get("restart") != "no":
            assert "healthcheck" in service, name
            assert service["stop_grace_period"] == "60s", name
        if name != "postgres":  # the stock image starts as root and steps down itself
            assert service.get("read_only") is True, name
            assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name


def test_each_service_has_its_settings_identity_and_port(compose):
    access = AccessDirectory(Path("/var/lib/ips/access"))
    for service in SERVICES:
        prefix = service.upper() + "_"
        definition = compose["services"][service]
        env = definition["environment"]
        assert env[f"{prefix}ENVIRONMENT"] == "production"
        assert env[f"{prefix}HTTP_PORT"] == str(PORTS[service])
        assert env[f"{prefix}DATABASE_URL"].endswith(f"@postgres:5432/{service}")
        assert env[f"{prefix}NATS_CREDENTIALS"] == str(
            access.credentials_file(f"service/{service}")
        )
        assert env[f"{prefix}API_TOKENS"].startswith(f"${{{prefix}API_TOKENS:?")
        assert "/readyz" in " ".join(definition["healthcheck"]["test"])
        assert str(PORTS[service]) in " ".join(definition["healthcheck"]["test"])
        setup = compose["services"][f"{service}-setup"]
        assert setup["environment"][f"{prefix}STREAM_REPLICAS"] == "1"  # one NATS node
        (script,) = setup["command"]
        assert script == (
            "service migrate && service provision --nats-credentials "
            f"{access.credentials_file('admin')}"
        )
    for service in ("enrollment", "certification", "notifications"):
        env = compose["services"][service]["environment"]
        assert env[f"{service.upper()}_POLICY_FILE"] == "/etc/ips/policy.toml"
        assert (
            "../policy/policy.toml:/etc/ips/policy.toml:ro"
            in compose["services"][service]["volumes"]
        )


def test_the_access_folder_is_where_the_image_prepares_it(compose):
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert "/var/lib/ips/access /var/lib/ips/nats" in dockerfile
    access = compose["services"]["access"]
    assert access["entrypoint"] == ["ips-access"]
    assert access["environment"]["IPS_ACCESS_DIR"] == "/var/lib/ips/access"
    assert set(access["volumes"]) == {"access:/var/lib/ips/access", "nats-data:/var/lib/ips/nats"}
