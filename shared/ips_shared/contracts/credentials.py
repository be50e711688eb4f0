"""A party's NATS credentials file: who it is, and the secret half of its nkey.

The operator's `ips-access` writes one per identity; a service reads its own
(`<PREFIX>NATS_CREDENTIALS`), a hospital gives its own to `ips-partner --creds`. The seed
block is the one NATS's own tools use, so the file also works where only the seed is read.

    # IPS NATS credentials for partner/mmc: keep secret.
    identity: partner/mmc
    -----BEGIN USER NKEY SEED-----
    SU...
    ------END USER NKEY SEED------
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .subjects import inbox_prefix

SEED_BLOCK = re.compile(
    r"-----BEGIN USER NKEY SEED-----\s*(SU[A-Z2-7]+)\s*------END USER NKEY SEED------"
)
IDENTITY_LINE = re.compile(r"^identity:\s*(\S+)\s*$", re.MULTILINE)


class InvalidCredentials(ValueError):
    """The file is not a credentials file (the message never repeats its content)."""


@dataclass(frozen=True)
class Credentials:
    identity: str
    seed: str

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect` (and FastStream's broker)."""
        return {"nkeys_seed_str": self.seed, "inbox_prefix": inbox_prefix(self.identity)}

    def render(self) -> str:
        return (
            f"# IPS NATS credentials for {self.identity}: keep secret.\n"
            f"identity: {self.identity}\n"
            "-----BEGIN USER NKEY SEED-----\n"
            f"{self.seed}\n"
            "------END USER NKEY SEED------\n"
        )


def parse_credentials(text: str) -> Credentials:
    identity, seed = IDENTITY_LINE.search(text), SEED_BLOCK.search(text)
    if identity is None or seed is None:
        raise InvalidCredentials("not an IPS credentials file (identity line and seed block)")
    return Credentials(identity.group(1), seed.group(1))


def read_credentials(path: Path) -> Credentials:
    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidCredentials(f"{path} cannot be read ({error.strerror})") from None
    return parse_credentials(text)


@dataclass(frozen=True)
class NatsEndpoint:
    """Where to connect, and as whom (no credentials: an open server, as in some tests)."""

    url: str  # one server, or a cluster's: `nats://a:4222,nats://b:4222,...`
    credentials: Credentials | None = None

    @property
    def servers(self) -> list[str]:
        """The servers to try, in order (a client learns the rest of a cluster from them)."""
        return [server.strip() for server in self.url.split(",") if server.strip()]

    def connect_options(self) -> dict[str, Any]:
        return self.credentials.connect_options() if self.credentials else {}
