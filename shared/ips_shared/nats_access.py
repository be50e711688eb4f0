"""`ips-access`: the NATS identities of a deployment, and the server configuration that
confines each to what `contracts.permissions` allows.

One folder holds it all (`IPS_ACCESS_DIR`, default `.data/access`; keep it private):

    identities/<token>.creds   admin and the four services (made once, by `init`)
    reporters/<token>.creds    one per partner, trainer or OBH reporter (`add`), for them
    registry.json              public keys, who added or revoked whom and when
    auth.conf                  the server's `authorization` block, included by its config

Identities are NATS nkeys: the server holds public keys only. Adding or revoking a
reporter rewrites `auth.conf` and asks the server to reload it (`nats-server.pid` in the
folder, written by a server started with it; else the command says to reload), which drops
a revoked reporter's connection; the services keep running.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nkeys

from .contracts import permissions, streams, subjects
from .contracts.credentials import Credentials, read_credentials

PID_FILE = "nats-server.pid"


class AccessError(ValueError):
    """An operator's request that cannot be done, said in one sentence."""


@dataclass(frozen=True)
class Reporter:
    source: str
    public_key: str
    added_at: str
    added_by: str


def new_credentials(identity: str) -> Credentials:
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()
    return Credentials(identity, seed)


def public_key(credentials: Credentials) -> str:
    pair = nkeys.from_seed(bytearray(credentials.seed.encode()))
    try:
        return pair.public_key.decode()
    finally:
        pair.wipe()


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class AccessDirectory:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def auth_conf(self) -> Path:
        return self.root / "auth.conf"

    @property
    def pid_file(self) -> Path:
        return self.root / PID_FILE

    def credentials_file(self, identity: str) -> Path:
        folder = "identities" if self._is_internal(identity) else "reporters"
        token = "admin" if identity == permissions.ADMIN else subjects.source_token(identity)
        return self.root / folder / f"{token}.creds"

    # -- the deployment's own identities -------------------------------------------------

    def initialise(self) -> None:
        """Make the admin's and the services' identities if missing, and write `auth.conf`
        (idempotent: existing identities are kept)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        registry = self._registry()
        for identity in self.internal_identities():
            if identity not in registry["identities"]:
                credentials = new_credentials(identity)
                self._write_private(self.credentials_file(identity), credentials.render())
                registry["identities"][identity] = public_key(credentials)
        self._save(registry)

    @staticmethod
    def internal_identities() -> tuple[str, ...]:
        return (permissions.ADMIN, *map(permissions.service_identity, streams.SERVICES))

    def _is_internal(self, identity: str) -> bool:
        return identity in self.internal_identities()

    def rotate_internal(self, identity: str) -> Path:
        """New keys for the admin or a service; the old key is refused once the server
        reloads. Whoever uses the identity then needs the new file (restart it)."""
        if not self._is_internal(identity):
            raise AccessError(
                "rotate the admin or a service/<name>; a reporter is revoked and added again"
            )
        registry = self._registry()
        credentials = new_credentials(identity)
        self._write_private(self.credentials_file(identity), credentials.render())
        registry["identities"][identity] = public_key(credentials)
        self._save(registry)
        return self.credentials_file(identity)

    # -- reporters -------------------------------------------------------------------------

    def add_reporter(self, source: str) -> Path:
        """A new reporter's credentials file; refused if the source is taken or malformed."""
        try:
            permissions.permissions_of(source)
        except (subjects.InvalidSource, permissions.NotPermitted):
            raise AccessError(
                "a reporter is partner/<id>, trainer/<id> or obh/<id>, with a lower-case id"
            ) from None
        if self._is_internal(source) or not source.startswith(subjects.HOURS_REPORTERS):
            raise AccessError("only partners, trainers and OBH staff report hours")
        registry = self._registry()
        if source in registry["reporters"]:
            raise AccessError("that reporter exists already: revoke it first to issue new keys")
        credentials = new_credentials(source)
        path = self.credentials_file(source)
        self._write_private(path, credentials.render())
        registry["reporters"][source] = {
            "public_key": public_key(credentials),
            "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "added_by": _operator(),
        }
        self._save(registry)
        return path

    def revoke_reporter(self, source: str) -> None:
        registry = self._registry()
        entry = registry["reporters"].pop(source, None)
        if entry is None:
            raise AccessError("no such reporter")
        registry["revoked"].append(
            {
                "source": source,
                "public_key": entry["public_key"],
                "revoked_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "revoked_by": _operator(),
            }
        )
        self._save(registry)
        self.credentials_file(source).unlink(missing_ok=True)

    def reporters(self) -> list[Reporter]:
        return [
            Reporter(source, entry["public_key"], entry["added_at"], entry["added_by"])
            for source, entry in sorted(self._registry()["reporters"].items())
        ]

    def credentials(self, identity: str) -> Credentials:
        return read_credentials(self.credentials_file(identity))

    # -- the server ----------------------------------------------------------------------

    def reload_server(self) -> bool:
        """Ask the local server started with this folder to reload its configuration;
        False if there is none running (another server must be told by its operator)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError):
            return False
        return True

    def _save(self, registry: dict[str, Any]) -> None:
        self._write_private(
            self.root / "registry.json", json.dumps(registry, indent=2, sort_keys=True)
        )
        users = [(identity, key) for identity, key in sorted(registry["identities"].items())] + [
            (source, entry["public_key"]) for source, entry in sorted(registry["reporters"].items())
        ]
        self._write_private(self.auth_conf, render_authorization(users))

    def _registry(self) -> dict[str, Any]:
        path = self.root / "registry.json"
        if not path.exists():
            return {"identities": {}, "reporters": {}, "revoked": []}
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded

    @staticmethod
    def _write_private(path: Path, text: str) -> None:
        """Written whole, readable by the owner only, then moved into place (a reload
        never reads half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(path.suffix + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        partial.replace(path)


def render_authorization(users: list[tuple[str, str]]) -> str:
    """The server's `authorization` block: each identity's public key and permissions."""
    lines = [
        "# Written by ips-access from ips_shared.contracts.permissions; do not edit by hand.",
        "authorization {",
        "  users = [",
    ]
    for index, (identity, key) in enumerate(users):
        allowed = permissions.permissions_of(identity)
        user = {
            "nkey": key,
            "permissions": {
                "publish": {"allow": list(allowed.publish)},
                "subscribe": {"allow": list(allowed.subscribe)},
            },
        }
        comma = "," if index < len(users) - 1 else ""
        lines += [f"    # {identity}", f"    {json.dumps(user)}{comma}"]
    lines += ["  ]", "}", ""]
    return "\n".join(lines)
