"""`make run` as a newcomer meets it: the runner starts NATS and the four services as
separate processes; a person goes from registration to `TrainingCompleted` over HTTP, the
application confirmation becomes due in notifications' own database and reaches the mail
sink; a certificate certification issues verifies on the directory's public page, and an
opted-in profile is listed; Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from embedded_nats import free_port, port_is_free
from ips_shared.contracts.credentials import read_credentials

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("enrollment", "certification", "notifications", "directory")


def consecutive_free_ports(count: int) -> int:
    for _ in range(100):
        first = free_port()
        if first + count < 65535 and all(port_is_free(first + n) for n in range(count)):
            return first
    raise RuntimeError("no run of free ports")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def get(url: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=2
        ) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


OPERATOR, TRAINER = "dev-operator", "dev-trainer"  # the runner's development tokens


def post(url: str, body: dict[str, object], token: str = OPERATOR) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in (200, 201)
        return json.loads(answer.read())


async def training_completed_on_stream(nats_port: str, admin: Path) -> dict[str, Any] | None:
    """Read as the admin identity: the embedded server admits no one without credentials."""
    url = f"nats://127.0.0.1:{nats_port}"
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(url, allow_reconnect=False)
    connection = await nats.connect(url, **read_credentials(admin).connect_options())
    try:
        js = connection.jetstream()
        for _ in range(100):
            info = await js.stream_info("ENROLLMENT")
            for sequence in range(info.state.first_seq, info.state.last_seq + 1):
                envelope = json.loads((await js.get_msg("ENROLLMENT", sequence)).data)
                if envelope["type"] == "TrainingCompleted":
                    return envelope["data"]  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)
        return None
    finally:
        await connection.close()


PEER_EMAIL = "e2e-peer@example.org"


def wait_for(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, sqlite3.Error):
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_port_whose_last_connection_lingers_in_time_wait_counts_as_free() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            served.close()  # the server closes first: its end of the connection waits
            client.recv(1)  # the server's close reached the client
    # What a quick restart meets: a bind without SO_REUSEADDR fails.
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))

    assert port_is_free(port)


@pytest.mark.timeout(60)
def test_the_runner_refuses_to_start_when_a_service_port_is_taken_and_names_it(
    tmp_path: Path,
) -> None:
    first_port = consecutive_free_ports(len(SERVICES))
    taken = first_port + 1
    environment = {
        **os.environ,
        "IPS_DATA_DIR": str(tmp_path / "data"),
        "IPS_NATS_PORT": str(free_port()),
        "IPS_HTTP_PORT": str(first_port),
    }
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        runner = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "local" / "runner.py")],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            output, _ = runner.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            runner.send_signal(signal.SIGINT)
            output, _ = runner.communicate(timeout=30)
            raise AssertionError(f"the runner started anyway:\n{output[-3000:]}") from None

    assert runner.returncode != 0
    assert f"port {taken} (certification) is in use" in output
    assert "Traceback" not in output
    assert not any(listening(port) for port in (first_port, first_port + 2, first_port + 3))


def put(url: str, body: dict[str, object], token: str = OPERATOR) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


def page(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


CERTIFIED = "e2e-certified"
NUMBER = "ME-2026-0777"
SHOWN_NAME, HIDDEN_REGION = "Robin E2E", "Hidden County Zq"


def certified_on_the_directory_page(tmp_path: Path, ports: dict[str, int]) -> None:
    """A certificate certification issues (an operator imports one granted before the
    system, as `ips-certification import-certificates` does on a running system) reaches the
    directory as an event: its number verifies on the public page, status and dates only,
    and the person's opted-in profile is listed with the fields they chose, nothing else."""
    data = tmp_path / "data"
    certificates = tmp_path / "certificates.csv"
    certificates.write_text(
        "person_id,certificate_number,certified_on,trained_on,cohort,last_review_on\n"
        f"{CERTIFIED},{NUMBER},{(date.today() - timedelta(days=90)).isoformat()},,,\n"
    )
    environment = {
        **os.environ,
        "CERTIFICATION_DATABASE_URL": f"sqlite:///{data / 'certification.db'}",
        "CERTIFICATION_POLICY_FILE": str(ROOT / "deploy" / "policy" / "policy.toml"),
    }
    imported = subprocess.run(
        [
            str(Path(sys.executable).parent / "ips-certification"),
            "import-certificates",
            str(certificates),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    directory = f"http://127.0.0.1:{ports['directory']}"
    put(
        f"{directory}/people/{CERTIFIED}/profile",
        {
            "listed": True,
            "shown": ["display_name"],
            "display_name": SHOWN_NAME,
            "region": HIDDEN_REGION,
        },
    )

    def verified() -> bool:
        status, html = page(f"{directory}/verify?number={NUMBER}")
        return status == 200 and "This certificate is current." in html

    wait_for(verified, timeout=30, what="the certificate to verify on the directory's page")
    _, html = page(f"{directory}/verify?number={NUMBER}")
    assert "Certified since" in html and "Valid through" in html
    assert SHOWN_NAME not in html and CERTIFIED not in html  # status and dates only
    status, unknown = page(f"{directory}/verify?number=ME-2026-0778")
    assert status == 404 and "Number not found" in unknown
    _, listed = page(f"{directory}/search/specialists?q=Robin")
    assert SHOWN_NAME in listed and HIDDEN_REGION not in listed


@pytest.mark.timeout(240)
def test_the_runner_starts_everything_and_an_application_reaches_notifications(
    tmp_path: Path,
) -> None:
    first_port = consecutive_free_ports(len(SERVICES))
    environment = {
        **{k: v for k, v in os.environ.items() if k != "NATS_URL"},  # the embedded default
        "IPS_DATA_DIR": str(tmp_path / "data"),
        "IPS_NATS_PORT": str(free_port()),
        "IPS_HTTP_PORT": str(first_port),
        "IPS_LOG_FORMAT": "json",
    }
    log = (tmp_path / "run.log").open("wb")
    runner = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "local" / "runner.py")],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    ports = dict(zip(SERVICES, range(first_port, first_port + len(SERVICES)), strict=True))
    try:
        for service, port in ports.items():
            wait_for(
                lambda port=port: get(f"http://127.0.0.1:{port}/readyz")[0] == 200,
                timeout=150,
                what=f"{service} to be ready",
            )
        base = f"http://127.0.0.1:{ports['enrollment']}"
        person = post(
            f"{base}/people", {"name": "E2E Peer", "region": "Kennebec", "email": PEER_EMAIL}
        )["person_id"]
        session = post(
            f"{base}/ps101/sessions",
            {"starts_at": "2026-10-01T13:00:00-04:00", "place": "online", "capacity": 10},
        )
        sessions = f"{base}/ps101/sessions/{session['session_id']}"
        post(f"{sessions}/registrations", {"person_id": person})
        post(
            f"{sessions}/completions", {"person_id": person, "completed_on": "2026-10-01"}, TRAINER
        )
        application = post(
            f"{base}/applications",
            {"person_id": person, "self_identifies_as_peer": True, "transport": "own_car"},
        )
        cohort = application["intake"]
        post(f"{base}/applications/{application['application_id']}/accept", {})
        first_day = date.today() - timedelta(days=20)  # attendance is never dated ahead
        for day in range(1, 9):
            attended_on = (first_day + timedelta(days=day - 1)).isoformat()
            attended = {"person_id": person, "day": day, "attended_on": attended_on}
            post(f"{base}/cohorts/{cohort}/attendance", attended, TRAINER)

        notifications_db = tmp_path / "data" / "notifications.db"

        def confirmation_due() -> bool:
            with sqlite3.connect(notifications_db) as connection:
                rows = connection.execute(
                    "SELECT person_id, reason, occasion FROM due_notification"
                ).fetchall()
            return (person, "application_received", application["application_id"]) in rows

        wait_for(confirmation_due, timeout=30, what="the confirmation to become due")

        def mailed_to_the_peer() -> list[EmailMessage]:
            return [
                message
                for path in sorted((tmp_path / "data" / "mail").glob("*.eml"))
                if (message := BytesParser(policy=policy.default).parse(path.open("rb")))["To"]
                == PEER_EMAIL
            ]

        # The application's confirmation (and the Peer Support 101 one) reach the local
        # mail sink as .eml files, each with a stable Message-ID.
        wait_for(lambda: len(mailed_to_the_peer()) >= 2, timeout=60, what="mail to the peer")
        assert all(message["Message-ID"] for message in mailed_to_the_peer())
        admin = tmp_path / "data" / "access" / "identities" / "admin.creds"
        completed = asyncio.run(training_completed_on_stream(environment["IPS_NATS_PORT"], admin))
        assert completed == {
            "person_id": person,
            "cohort_id": cohort,
            "completed_on": (first_day + timedelta(days=7)).isoformat(),
            "region": "Kennebec",
        }
        status = f"http://127.0.0.1:{ports['certification']}/people/{person}/status"

        def known_as_trained() -> bool:
            code, body = get(status, OPERATOR)
            return code == 200 and body["status"] == "trained"

        wait_for(known_as_trained, timeout=30, what="certification to know the person as trained")
        certified_on_the_directory_page(tmp_path, ports)
        assert (tmp_path / "data" / "nats" / "jetstream").is_dir()  # NATS data under one folder
        # The local sinks for notifications keep what peers would receive under it too.
        assert (tmp_path / "data" / "mail").is_dir()
        assert (tmp_path / "data" / "texts").is_dir()
    finally:
        runner.send_signal(signal.SIGINT)
        exit_code = runner.wait(timeout=60)
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert exit_code == 0, output[-3000:]
    mail_folder = (tmp_path / "data" / "mail").resolve()
    assert f"-> {mail_folder}/*.eml" in output, "the runner does not say where mail goes"
    assert f"-> {mail_folder.parent / 'texts'}/*.json" in output
    assert not any(listening(port) for port in ports.values()), "a service outlived the runner"
    for line in output.splitlines():
        if line.startswith("{"):
            assert "E2E Peer" not in line, f"personal data in a log line: {line}"
