"""`ips-partner` against a real secured nats-server and a real certification service: a
hospital's file is checked, published with its own credentials and answered; the same file
run again counts nothing twice. The command runs as a hospital runs it: the installed
console script, in its own process."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from ips_certification.bootstrap import bootstrap as bootstrap_certification
from ips_certification.db import tables as certification_tables
from ips_certification.settings import CertificationSettings
from ips_partner.ids import event_ids
from ips_partner.rows import Row, parse
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import TrainingCompleted
from ips_shared.nats_access import AccessDirectory

from .enrollment_flow import OPERATOR, TOKENS
from .harness import eventually, migrate_service
from .secured_nats import SecuredNats, start_secured

IPS_PARTNER = Path(sys.executable).with_name("ips-partner")
TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "partners" / "hours-template.csv"
PERSON = "p-partner-1"
DAY = date.today() - timedelta(days=2)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


async def ips_partner(*args: str | Path) -> Run:
    process = await asyncio.create_subprocess_exec(
        IPS_PARTNER,
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@asynccontextmanager
async def certification_on(
    secured: SecuredNats, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    migrate_service(database_url, certification_tables)
    app = bootstrap_certification(
        CertificationSettings(
            database_url=database_url,
            nats_url=secured.url,
            nats_credentials=secured.credentials_file("service/certification"),
            relay_poll_seconds=0.1,
            stream_wait_seconds=5,
            api_tokens=TOKENS,
        )
    ).http_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://c") as client,
    ):
        yield client


async def train(secured: SecuredNats, person_id: str) -> None:
    """Enrollment's fact that makes a person known to certification."""
    completed = CloudEvent.wrap(
        TrainingCompleted(
            person_id=person_id, cohort_id="2026-fall", completed_on=DAY - timedelta(days=60)
        ),
        source="service/enrollment",
        partition_key=person_id,
    )
    async with secured.connected_as("service/enrollment") as enrollment:
        await enrollment.connection.jetstream().publish(
            completed.nats_subject, completed.to_json(), headers={MSG_ID_HEADER: completed.id}
        )


HOURS_FILE = f"""person_id,category,hours,activity_date,note
{PERSON},skill_building,2.5,{DAY},warmline shift
{PERSON},continuing_education,3,{DAY - timedelta(days=1)},
p-nobody,skill_building,1,{DAY},
{PERSON},volunteer_service,-1,{DAY.year}-13-01,
{PERSON},co_reflection,1.5,{DAY},monthly co-reflection
{PERSON},co_reflection,1.5,{DAY},monthly co-reflection
"""


async def test_a_file_is_published_answered_and_never_counted_twice(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    secured = await start_secured(tmp_path)
    hours_file = tmp_path / "mmc-hours.csv"
    hours_file.write_text(HOURS_FILE)
    creds = secured.credentials_file("partner/mmc")
    seed = secured.access.credentials("partner/mmc").seed
    try:
        async with certification_on(secured, new_database()) as certification:

            async def ledger() -> list[dict[str, object]]:
                answer = await certification.get(
                    f"/people/{PERSON}/hours", headers={"authorization": f"Bearer {OPERATOR}"}
                )
                return answer.json() if answer.status_code == 200 else []

            await train(secured, PERSON)
            await eventually(lambda: _known(certification), timeout=30)

            first = await ips_partner(
                "publish", hours_file, "--creds", creds, "--server", secured.url, "--wait", "3"
            )

            assert first.code == 1, first
            lines = first.out.splitlines()
            assert lines[:4] == [
                "published      4",
                "already known  0",
                "rejected       1",
                "invalid        1 (not sent)",
            ], first
            assert lines[4].startswith("line 4: rejected: unknown_person: "), first
            assert lines[5].startswith("line 5: invalid: hours: "), first
            assert "activity_date" in lines[5]
            assert "-13-01" not in lines[5]  # the reason names the field, not its value
            assert seed not in first.out + first.err

            async def counted() -> bool:
                return len(await ledger()) == 4

            await eventually(counted)
            entries = await ledger()
            assert sorted(Decimal(str(entry["hours"])) for entry in entries) == [
                Decimal("1.5"),
                Decimal("1.5"),
                Decimal("2.5"),
                Decimal("3"),
            ]
            assert {entry["source"] for entry in entries} == {"partner/mmc"}
            valid = [row for row in parse(HOURS_FILE) if isinstance(row, Row)]
            ids = event_ids("partner/mmc", valid)
            assert {entry["event_id"] for entry in entries} == set(ids) - {ids[2]}
            assert sorted(await _message_ids(secured)) == sorted(f"mmc:{i}" for i in ids)

            again = await ips_partner(
                "publish", hours_file, "--creds", creds, "--server", secured.url, "--wait", "3"
            )

            assert again.code == 1, again  # the invalid row is still invalid
            assert again.out.splitlines()[:4] == [
                "published      0",
                "already known  5",
                "rejected       0",
                "invalid        1 (not sent)",
            ], again
            await asyncio.sleep(1)
            assert await ledger() == entries
            assert len(await _message_ids(secured)) == 5  # JetStream stored none again
    finally:
        secured.server.stop()


async def test_check_validates_without_connecting(tmp_path: Path) -> None:
    hours_file = tmp_path / "hours.csv"
    hours_file.write_text(HOURS_FILE)

    checked = await ips_partner("check", hours_file)

    assert checked.code == 1
    assert checked.out.splitlines()[-1] == "valid 5, invalid 1"
    hours_file.write_text(HOURS_FILE.replace("-1,", "1,").replace("-13-01", "-12-01"))
    assert (await ips_partner("check", hours_file)).code == 0
    template = await ips_partner("check", TEMPLATE)
    assert (template.code, template.out) == (0, "valid 1, invalid 0\n")


async def test_connection_and_credential_problems_are_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    secured = await start_secured(tmp_path)
    hours_file = tmp_path / "hours.csv"
    hours_file.write_text(HOURS_FILE)
    # Credentials the server never issued: the same identity, another key.
    stranger = AccessDirectory(tmp_path / "elsewhere")
    stranger.initialise()
    forged = stranger.add_reporter("partner/mmc")
    not_credentials = tmp_path / "notes.txt"
    not_credentials.write_text("identity: partner/mmc\nSUAAAA\n")
    cases = {
        "refused": (forged, secured.url, "Authorization Violation"),
        "unreachable": (secured.credentials_file("partner/mmc"), "nats://127.0.0.1:9", "connect"),
        "not credentials": (not_credentials, secured.url, "not an IPS credentials file"),
        "a service's": (
            secured.credentials_file("service/certification"),
            secured.url,
            "reports no hours",
        ),
    }
    try:
        for case, (creds, server, problem) in cases.items():
            run = await ips_partner("publish", hours_file, "--creds", creds, "--server", server)

            assert run.code == 2, (case, run)
            assert run.out == "", (case, run)
            assert len(run.err.splitlines()) == 1, (case, run)
            assert problem in run.err, (case, run)
            assert "Traceback" not in run.err
            for identity_file in (forged, secured.credentials_file("partner/mmc")):
                assert _seed_of(identity_file) not in run.err
    finally:
        secured.server.stop()


def _seed_of(path: Path) -> str:
    return next(line for line in path.read_text().splitlines() if line.startswith("SU"))


async def _known(certification: httpx.AsyncClient) -> bool:
    answer = await certification.get(
        f"/people/{PERSON}/status", headers={"authorization": f"Bearer {OPERATOR}"}
    )
    return answer.status_code == 200


async def _message_ids(secured: SecuredNats) -> list[str]:
    """The `Nats-Msg-Id` of every report stored on the partner's subject (read as admin)."""
    async with secured.connected_as("admin") as admin:
        js = admin.connection.jetstream()
        info = await js.stream_info(streams.HOURS.name)
        found = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(streams.HOURS.name, sequence)
            if message.subject == "ips.hours.logged.mmc":
                assert json.loads(message.data)["source"] == "partner/mmc"
                found.append((message.headers or {})[MSG_ID_HEADER])
        return found
