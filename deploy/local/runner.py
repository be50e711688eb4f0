"""`make run`: the whole system on one machine, on embedded defaults.

Starts a real nats-server with JetStream (data under .data/nats, reused across runs)
unless NATS_URL is set, migrates each service's SQLite database under .data/, then
runs the four services as separate processes, streaming their logs, until Ctrl-C
stops everything.

Environment: NATS_URL (use that server), IPS_DATA_DIR (default .data), IPS_NATS_PORT
(default 4222, another free port if taken), IPS_HTTP_PORT (first service port, default
8001; the services take it and the three after it, and the runner refuses to start,
naming the port, if another program holds one), IPS_LOG_FORMAT (console or json).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from embedded_nats import EmbeddedNats, port_is_free

SERVICES = ("enrollment", "certification", "notifications", "directory")
ROOT = Path(__file__).resolve().parents[2]


# Local development only: a real deployment configures its own tokens.
DEVELOPMENT_TOKENS = {"dev-operator": {"role": "operator"}, "dev-trainer": {"role": "trainer"}}


def service_env(
    service: str, nats_url: str, data_dir: Path, port: int, log_format: str
) -> dict[str, str]:
    prefix = service.upper() + "_"
    return {
        prefix + "API_TOKENS": json.dumps(DEVELOPMENT_TOKENS),
        prefix + "POLICY_FILE": str(ROOT / "deploy" / "policy" / "policy.toml"),
        **os.environ,
        prefix + "DATABASE_URL": f"sqlite:///{data_dir / (service + '.db')}",
        prefix + "NATS_URL": nats_url,
        prefix + "HTTP_PORT": str(port),
        prefix + "LOG_FORMAT": log_format,
    }


def command(service: str, *args: str) -> list[str]:
    return [str(Path(sys.executable).parent / f"ips-{service}"), *args]


def taken_ports(ports: dict[str, int]) -> list[str]:
    """A sentence for each service whose port another program holds."""
    return [
        f"port {port} ({service}) is in use by another program"
        for service, port in ports.items()
        if not port_is_free(port)
    ]


def main() -> int:
    first = int(os.environ.get("IPS_HTTP_PORT", "8001"))
    # The services stay on their documented ports: one taken stops the start, before anything
    # else has started.
    ports = {service: first + offset for offset, service in enumerate(SERVICES)}
    if taken := taken_ports(ports):
        for sentence in taken:
            print(sentence, file=sys.stderr)
        print(
            f"Free it, or set IPS_HTTP_PORT to the first of {len(SERVICES)} free ports in a row.",
            file=sys.stderr,
        )
        return 1
    data_dir = Path(os.environ.get("IPS_DATA_DIR", ROOT / ".data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_format = os.environ.get("IPS_LOG_FORMAT", "console")
    embedded: EmbeddedNats | None = None
    nats_url = os.environ.get("NATS_URL")
    if not nats_url:
        port = int(os.environ.get("IPS_NATS_PORT", "4222"))
        embedded = EmbeddedNats(data_dir / "nats", port if port_is_free(port) else None)
        embedded.start()
        nats_url = embedded.url

    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        environments = {
            service: service_env(service, nats_url, data_dir, port, log_format)
            for service, port in ports.items()
        }
        # Migrations run side by side; each service declares the streams it owns as it
        # starts, and waits for the streams it reads from the others.
        migrations = [
            subprocess.Popen(command(service, "migrate"), env=environments[service])
            for service in SERVICES
        ]
        for service, migration in zip(SERVICES, migrations, strict=True):
            if migration.wait() != 0:
                print(f"{service}: migrate failed", file=sys.stderr)
                return 1
        for service in SERVICES:
            # A session of its own: Ctrl-C reaches the runner only, which stops the services
            # before NATS so that they drain cleanly.
            child = subprocess.Popen(
                command(service, "serve"), env=environments[service], start_new_session=True
            )
            children.append((service, child))

        print(f"\nIPS platform running (data in {data_dir}); Ctrl-C stops it.", flush=True)
        print(f"  {'nats':<14} {nats_url}" + ("  (embedded)" if embedded else "  (NATS_URL)"))
        for service, port in ports.items():
            print(
                f"  {service:<14} http://127.0.0.1:{port}  (/openapi.json, /readyz, /asyncapi.json)"
            )
        print("  API tokens (unless *_API_TOKENS is set): dev-operator, dev-trainer\n", flush=True)

        while not stopping:
            for service, child in children:
                if child.poll() is not None:
                    print(f"{service} exited with {child.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        for _, child in children:
            if child.poll() is None:
                child.terminate()
        for _, child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
