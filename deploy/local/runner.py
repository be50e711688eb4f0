"""`make run`: the whole system on one machine, on embedded defaults.

Starts a real nats-server with JetStream (data under .data/nats, reused across runs)
unless NATS_URL is set, migrates each service's SQLite database under .data/, then
runs the four services as separate processes, streaming their logs, until Ctrl-C
stops everything. What notifications sends goes to local sinks (deploy/local/sinks.py): a
real SMTP server keeping each email as .data/mail/*.eml and an HTTP endpoint keeping each
text as .data/texts/*.json, where a newcomer reads what peers would receive.

The embedded server admits only the identities in the access folder (IPS_ACCESS_DIR,
default .data/access; made on first run by the same code as `ips-access init`), and the
admin identity provisions the streams.

Environment: NATS_URL (use that server; then set *_NATS_CREDENTIALS if it needs them),
IPS_DATA_DIR (default .data), IPS_NATS_PORT
(default 4222, another free port if taken), IPS_HTTP_PORT (first service port, default
8001; the services take it and the three after it, and the runner refuses to start,
naming the port, if another program holds one), IPS_LOG_FORMAT (console or json),
IPS_SMTP_PORT and IPS_TEXTS_PORT (the sinks'; default, or if taken, a free port).
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
from ips_shared.auth import DEVELOPMENT_TOKENS, token_entry
from ips_shared.nats_access import AccessDirectory
from sinks import MailSink, TextSink

SERVICES = ("enrollment", "certification", "notifications", "directory")
ROOT = Path(__file__).resolve().parents[2]


# Local development only: the tokens are in the repository (`ips_shared.auth`), so a
# service with ENVIRONMENT=production refuses them. Each is configured under its own name.
DEVELOPMENT_API_TOKENS = {
    token: token_entry(token, role) for token, role in DEVELOPMENT_TOKENS.items()
}


def service_env(
    service: str, nats_url: str, data_dir: Path, port: int, log_format: str
) -> dict[str, str]:
    prefix = service.upper() + "_"
    return {
        prefix + "API_TOKENS": json.dumps(DEVELOPMENT_API_TOKENS),
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


def sink_port(variable: str) -> int | None:
    """The port named by `variable` if it is free; else None (a free one)."""
    port = int(os.environ.get(variable) or 0)
    return port if port and port_is_free(port) else None


def notifications_sinks_env(mail: MailSink, texts: TextSink) -> dict[str, str]:
    return {
        "NOTIFICATIONS_SMTP_HOST": mail.host,
        "NOTIFICATIONS_SMTP_PORT": str(mail.port),
        "NOTIFICATIONS_SMS_URL": texts.url,
    }


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
    access: AccessDirectory | None = None
    nats_url = os.environ.get("NATS_URL")
    if not nats_url:
        # The secure path is the default one: every party gets its own identity on first
        # run, and the embedded server admits those alone.
        access = AccessDirectory(Path(os.environ.get("IPS_ACCESS_DIR", data_dir / "access")))
        access.initialise()
        port = int(os.environ.get("IPS_NATS_PORT", "4222"))
        embedded = EmbeddedNats(
            data_dir / "nats", port if port_is_free(port) else None, access_dir=access.root
        )
        embedded.start()
        nats_url = embedded.url

    mail = MailSink(data_dir / "mail", sink_port("IPS_SMTP_PORT"))
    texts = TextSink(data_dir / "texts", sink_port("IPS_TEXTS_PORT"))
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        mail.start()
        texts.start()
        environments = {
            service: service_env(service, nats_url, data_dir, port, log_format)
            for service, port in ports.items()
        }
        environments["notifications"].update(notifications_sinks_env(mail, texts))
        provision = ["provision"]
        if access is not None:
            for service, environment in environments.items():
                variable = service.upper() + "_NATS_CREDENTIALS"
                identity = access.credentials_file(f"service/{service}")
                environment.setdefault(variable, str(identity))
            provision += ["--nats-credentials", str(access.credentials_file("admin"))]
        # Migrations run side by side, then the admin identity declares the streams (only it
        # may); each service waits for the streams it uses as it starts.
        for step in (["migrate"], provision):
            running = [
                subprocess.Popen(command(service, *step), env=environments[service])
                for service in SERVICES
            ]
            for service, process in zip(SERVICES, running, strict=True):
                if process.wait() != 0:
                    print(f"{service}: {step[0]} failed", file=sys.stderr)
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
        print(f"  {'mail':<14} smtp://{mail.host}:{mail.port}  -> {mail.folder}/*.eml")
        print(f"  {'texts':<14} POST {texts.url}  -> {texts.folder}/*.json")
        print("  (what peers would receive: open the .eml files in a mail program)")
        print("  API tokens (unless *_API_TOKENS is set): dev-operator, dev-trainer", flush=True)
        if access is not None:
            print(
                f"  NATS identities in {access.root}; a partner's: `ips-access add"
                f" partner/<id> --dir {access.root}`",
                flush=True,
            )
        print(flush=True)

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
        mail.stop()
        texts.stop()
        if embedded is not None:
            embedded.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
