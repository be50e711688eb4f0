"""A service's runtime built as `ips-<service> asyncapi` builds it: no database, no NATS,
none of the environment's settings for it."""

import importlib
import os

import pytest

from ips_shared.runtime import ServiceRuntime


def offline_runtime(service: str, monkeypatch: pytest.MonkeyPatch) -> ServiceRuntime:
    prefix = f"{service.upper()}_"
    for variable in [name for name in os.environ if name.upper().startswith(prefix)]:
        monkeypatch.delenv(variable)
    bootstrap_module = importlib.import_module(f"ips_{service}.bootstrap")
    settings_module = importlib.import_module(f"ips_{service}.settings")
    settings_class = getattr(settings_module, f"{service.capitalize()}Settings")
    runtime: ServiceRuntime = bootstrap_module.bootstrap(
        settings_class(database_url="sqlite://")
    ).runtime
    return runtime
