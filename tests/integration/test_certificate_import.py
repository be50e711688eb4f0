"""`ips-certification import-certificates`: a state's certificates in, row by row,
idempotently, each person's standing started from theirs (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner

from ips_certification.bootstrap import Certification, bootstrap
from ips_certification.commands import BringUpToDate
from ips_certification.db import tables
from ips_certification.entrypoints import cli as cli_module
from ips_certification.entrypoints.cli import cli
from ips_certification.handlers.ledger import record_hours
from ips_certification.handlers.standing import register_trained
from ips_certification.settings import CertificationSettings
from ips_shared.auth import Role, token_entry
from ips_shared.contracts.events import CertificationStatus, HoursCategory

from .harness import migrate_service, rows
from .test_hours_ledger import hours, trained

ZONE = ZoneInfo("America/New_York")
TODAY = date(2026, 6, 15)  # the service's date when the file is imported

CERTIFICATES = """\
person_id,certificate_number,certified_on,trained_on,cohort,last_review_on
me-001,ME-2024-0042,2024-05-01,,,2026-04-01
me-002,ME-2025-0007,2025-09-01,2024-08-20,2024-fall,
me-003,ME-2024-0042,2023-01-01,,,
me-004,ME-2019-0001,2019-01-10,,,
me-005,ME-2026-0100,2026-07-01,,,
me-006,ME 7,2020-01-01,,,
p-known,ME-2026-0001,2026-03-01,,,
"""


def clock_on(day: date) -> Callable[[], datetime]:
    return lambda: datetime.combine(day, time(9), tzinfo=ZONE)


OPERATOR = {"Dana at OBH": token_entry("op", Role.OPERATOR)}


def settings(database_url: str) -> CertificationSettings:
    return CertificationSettings(database_url=database_url, api_tokens=OPERATOR)


def run_import(database_url: str, path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(
        cli,
        ["import-certificates", str(path)],
        env={"CERTIFICATION_DATABASE_URL": database_url},
    )
    return result.exit_code, result.output.strip().splitlines()


def status_changes(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """The CertificationStatusChanged in the outbox, by person, in order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows(database_url, tables.Outbox), key=lambda row: row.position or 0):
        if row.event_type == "CertificationStatusChanged":
            data = json.loads(row.payload)["data"]
            found.setdefault(data["person_id"], []).append(data)
    return found


def standing(database_url: str) -> dict[str, tuple[CertificationStatus | None, date | None]]:
    return {s.person_id: (s.status, s.certified_on) for s in rows(database_url, tables.StandingRow)}


@pytest.fixture
def on_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's service runs on TODAY."""
    monkeypatch.setattr(
        cli_module, "bootstrap", lambda loaded: bootstrap(loaded, clock=clock_on(TODAY))
    )


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    path = tmp_path / "certificates-2026.csv"
    path.write_text(CERTIFICATES, encoding="utf-8")
    return path


def service_on(database_url: str, day: date) -> Certification:
    return bootstrap(settings(database_url), clock=clock_on(day))


def test_certificates_are_imported_once_and_bad_rows_reported_by_line(
    database_url: str, certificates: Path, on_today: None
) -> None:
    migrate_service(database_url, tables)
    # Known from their training completion, not certified here (its first year was unmet).
    known = service_on(database_url, TODAY)
    with known.runtime.unit_of_work() as uow:  # as the consumer applies a completion
        known.bus.bind(register_trained)([trained("p-known", date(2025, 3, 1))], uow)
        uow.commit()
    assert standing(database_url)["p-known"] == (CertificationStatus.TRAINED, None)

    code, output = run_import(database_url, certificates)

    assert code == 1
    refused = [line for line in output if line.startswith("line ")]
    assert refused == [
        "line 4: certificate_conflict: This certificate number belongs to another person.",
        "line 6: invalid_certificate: certified_on is in the future.",
        "line 7: certificate_number: String should match pattern '^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$'",
    ]
    assert output[-1] == "imported 4, unchanged 0, refused 3"

    certificates_held = {
        c.person_id: (c.number, c.issued_on, c.imported, c.imported_on)
        for c in rows(database_url, tables.Certificate)
    }
    assert certificates_held == {
        "me-001": ("ME-2024-0042", date(2024, 5, 1), True, TODAY),
        "me-002": ("ME-2025-0007", date(2025, 9, 1), True, TODAY),
        "me-004": ("ME-2019-0001", date(2019, 1, 10), True, TODAY),
        "p-known": ("ME-2026-0001", date(2026, 3, 1), True, TODAY),
    }
    participants = {
        p.person_id: (p.record_began_on, p.cohort_id)
        for p in rows(database_url, tables.Participant)
    }
    assert participants == {
        "me-001": (date(2023, 5, 1), "imported"),  # the default first year before
        "me-002": (date(2024, 8, 20), "2024-fall"),
        "me-004": (date(2018, 1, 10), "imported"),
        "p-known": (date(2025, 3, 1), "2026-spring"),  # their training completion stands
    }
    [review] = rows(database_url, tables.ReviewRow)
    assert (review.event_id, review.person_id, review.reviewed_on, review.outcome) == (
        "import:me-001:2026-04-01",
        "me-001",
        date(2026, 4, 1),
        "affirmed",
    )
    assert sorted(
        (a.action, a.target, a.actor, a.reason) for a in rows(database_url, tables.OperatorAction)
    ) == [
        ("import_certificate", person, "import", "imported from certificates-2026.csv")
        for person in ("me-001", "me-002", "me-004", "p-known")
    ]

    # Certified years before with no hours recorded here: the years the spreadsheet vouches
    # for count as met (not lapsed), and so do the reviews due by then when it shows none.
    assert standing(database_url) == {
        "me-001": (CertificationStatus.CERTIFIED, date(2024, 5, 1)),
        "me-002": (CertificationStatus.CERTIFIED, date(2025, 9, 1)),
        "me-004": (CertificationStatus.CERTIFIED, date(2019, 1, 10)),
        "p-known": (CertificationStatus.CERTIFIED, date(2026, 3, 1)),
    }
    changes = status_changes(database_url)
    assert {
        person: [(c["old_status"], c["new_status"], c["reason_code"]) for c in changed]
        for person, changed in changes.items()
    } == {
        "me-001": [(None, "certified", "certificate_imported")],
        "me-002": [(None, "certified", "certificate_imported")],
        "me-004": [(None, "certified", "certificate_imported")],
        "p-known": [
            (None, "trained", "training_completed"),  # before the import
            ("trained", "certified", "certificate_imported"),
        ],
    }
    for person, [*_, change] in changes.items():
        assert change["reason_code"] == "certificate_imported"
        assert change["certificate_number"] == certificates_held[person][0]
        assert change["effective_date"] == TODAY.isoformat()
    outbox = sorted(row.event_type for row in rows(database_url, tables.Outbox))
    assert "ReviewCompleted" not in outbox  # a review of the past is not news

    # Again: nothing changes, nothing is emitted.
    code, output = run_import(database_url, certificates)
    assert code == 1
    assert output[-1] == "imported 0, unchanged 4, refused 3"
    assert sorted(row.event_type for row in rows(database_url, tables.Outbox)) == outbox
    assert len(rows(database_url, tables.OperatorAction)) == 4


def test_time_moves_on_from_an_imported_certificate(
    database_url: str, certificates: Path, on_today: None
) -> None:
    migrate_service(database_url, tables)
    run_import(database_url, certificates)

    def on(day: date) -> dict[str, tuple[CertificationStatus | None, date | None]]:
        service_on(database_url, day).bus.handle(BringUpToDate("me-001"))
        return standing(database_url)

    # Year 3 (2026-05-01 .. 2027-05-01) is the first one this system keeps: unmet, so at
    # risk 60 days before its end and lapsed once the grace period after it has passed.
    assert on(date(2027, 3, 1))["me-001"][0] == CertificationStatus.CERTIFIED
    assert on(date(2027, 3, 2))["me-001"][0] == CertificationStatus.AT_RISK
    assert on(date(2027, 5, 31))["me-001"][0] == CertificationStatus.LAPSED
    history = [
        (c.old_status, c.new_status, c.reason_code, c.effective_on)
        for c in sorted(rows(database_url, tables.StatusChange), key=lambda c: c.id or 0)
        if c.person_id == "me-001"
    ]
    assert history == [
        (None, "certified", "certificate_imported", TODAY),
        ("certified", "at_risk", "hours_short_near_year_end", date(2027, 3, 2)),
        ("at_risk", "lapsed", "year_ended_unmet", date(2027, 5, 31)),
    ]


def test_a_person_with_another_number_is_refused(
    database_url: str, certificates: Path, tmp_path: Path, on_today: None
) -> None:
    migrate_service(database_url, tables)
    run_import(database_url, certificates)
    other = tmp_path / "corrections.csv"
    other.write_text(
        "\ufeffperson_id,certificate_number,certified_on\n"
        "me-002,ME-2025-0007,2025-09-01\n"
        "me-001,ME-2024-9999,2024-05-01\n"
        "me-007,ME-2020-0070,2020-10-10\n",
        encoding="utf-8",
    )

    code, output = run_import(database_url, other)

    assert code == 1
    assert [line for line in output if line.startswith("line ")] == [
        "line 3: certificate_conflict: This person holds another certificate number already."
    ]
    assert output[-1] == "imported 1, unchanged 1, refused 1"
    held = {c.person_id: c.number for c in rows(database_url, tables.Certificate)}
    assert held["me-001"] == "ME-2024-0042"
    assert held["me-007"] == "ME-2020-0070"


def test_a_clean_file_exits_zero_on_the_real_clock(database_url: str, tmp_path: Path) -> None:
    migrate_service(database_url, tables)
    path = tmp_path / "certificates.csv"
    path.write_text(
        "person_id,certificate_number,certified_on\nme-1,ME-2020-0001,2020-01-15\n",
        encoding="utf-8",
    )

    code, output = run_import(database_url, path)

    assert (code, output[-1]) == (0, "imported 1, unchanged 0, refused 0")
    [[change]] = status_changes(database_url).values()
    assert (change["reason_code"], change["certificate_number"]) == (
        "certificate_imported",
        "ME-2020-0001",
    )


def test_a_file_without_a_required_column_is_refused_whole(
    database_url: str, tmp_path: Path
) -> None:
    migrate_service(database_url, tables)
    path = tmp_path / "certificates.csv"
    path.write_text("person_id,certified_on\nme-1,2020-01-15\n", encoding="utf-8")

    result = CliRunner().invoke(
        cli,
        ["import-certificates", str(path)],
        env={"CERTIFICATION_DATABASE_URL": database_url},
    )

    assert result.exit_code == 2
    assert "missing columns: certificate_number" in result.output
    assert rows(database_url, tables.Certificate) == []


STATUSES = """\
person_id,certificate_number,certified_on,status,status_since
me-101,ME-2024-0101,2024-09-01,lapsed,2025-10-15
me-102,ME-2023-0102,2023-02-01,suspended,2025-11-20
me-103,ME-2020-0103,2020-05-05,withdrawn,2024-01-31
me-104,ME-2025-0104,2025-03-01,lapsed,2026-03-15
me-105,ME-2024-0105,2024-01-01,suspended,2026-07-01
me-106,ME-2024-0106,2024-01-01,expired,2025-01-01
me-107,ME-2024-0107,2024-01-01,lapsed,
me-108,ME-2024-0108,2024-01-01,,2025-01-01
me-109,ME-2024-0109,2024-01-01,withdrawn,2023-12-31
"""


async def as_operator(database_url: str, method: str, path: str, **body: Any) -> httpx.Response:
    """A call to the service's API (on TODAY) with an operator's token."""
    app = service_on(database_url, TODAY).http_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://c") as c:
        headers = {"authorization": "Bearer op"}
        return await c.request(method, path, json=body or None, headers=headers)


async def status_of(database_url: str, person_id: str) -> dict[str, Any]:
    answer = await as_operator(database_url, "GET", f"/people/{person_id}/status")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_lapsed_suspended_or_withdrawn_person_is_imported_in_that_status(
    database_url: str, tmp_path: Path, on_today: None
) -> None:
    migrate_service(database_url, tables)
    path = tmp_path / "certificates-with-status.csv"
    path.write_text(STATUSES, encoding="utf-8")

    code, output = run_import(database_url, path)

    assert code == 1
    assert [line for line in output if line.startswith("line ")] == [
        "line 5: invalid_certificate: status_since is too early for a lapse: no certification "
        "year and its grace period had passed by then.",
        "line 6: invalid_certificate: status_since is in the future.",
        "line 7: status: Input should be 'lapsed', 'suspended' or 'withdrawn'",
        "line 8: row: Value error, status_since is required with a status",
        "line 9: row: Value error, status_since is given without a status",
        "line 10: row: Value error, status_since is before certified_on",
    ]
    assert output[-1] == "imported 3, unchanged 0, refused 6"

    # Each is in the status imported, from the day it began, announced as imported.
    expected = {
        "me-101": ("lapsed", date(2025, 10, 15), "ME-2024-0101"),
        "me-102": ("suspended", date(2025, 11, 20), None),  # numbered when reinstated
        "me-103": ("withdrawn", date(2024, 1, 31), None),
    }
    changes = status_changes(database_url)
    assert {
        person: [
            (c["old_status"], c["new_status"], c["reason_code"], c["effective_date"])
            for c in changed
        ]
        for person, changed in changes.items()
    } == {
        person: [(None, status, "certificate_imported", since.isoformat())]
        for person, (status, since, _) in expected.items()
    }
    assert {person: changed[0]["certificate_number"] for person, changed in changes.items()} == {
        person: number for person, (_, _, number) in expected.items()
    }
    for person, (status, since, _) in expected.items():
        found = await status_of(database_url, person)
        assert found["status"] == status
        assert [(c["new_status"], c["effective_date"]) for c in found["history"]] == [
            (status, since.isoformat())
        ]
    assert (await status_of(database_url, "me-101"))["reason_code"] == "year_ended_unmet"
    decisions = {
        (d.person_id, d.decision, d.taken_on) for d in rows(database_url, tables.DecisionRow)
    }
    assert decisions == {
        ("me-102", "suspend", date(2025, 11, 20)),
        ("me-103", "withdraw", date(2024, 1, 31)),
    }

    # Again: nothing changes, nothing is emitted.
    outbox = len(rows(database_url, tables.Outbox))
    code, output = run_import(database_url, path)
    assert output[-1] == "imported 0, unchanged 3, refused 6"
    assert len(rows(database_url, tables.Outbox)) == outbox
    assert len(rows(database_url, tables.DecisionRow)) == 2

    # The lapsed year's hours, recorded late, reinstate the lapsed one as for anyone.
    service = service_on(database_url, TODAY)
    late = [
        hours("me-101", "8", on=date(2025, 5, 1), category=HoursCategory.CONTINUING_EDUCATION),
        hours("me-101", "12", on=date(2025, 5, 1), category=HoursCategory.SKILL_BUILDING),
    ]
    with service.runtime.unit_of_work() as uow:  # as the consumer applies them
        service.bus.bind(record_hours)(late, uow)
        uow.commit()
    service.bus.handle(BringUpToDate("me-101"))
    found = await status_of(database_url, "me-101")
    assert (found["status"], found["certificate_number"]) == ("certified", "ME-2024-0101")
    assert [(c["new_status"], c["reason_code"]) for c in found["history"]][1:] == [
        ("certified", "reinstated")
    ]
    # A held one stays held until an operator reinstates them; their number comes then.
    assert (await status_of(database_url, "me-102"))["status"] == "suspended"
    reinstated = await as_operator(
        database_url, "POST", "/people/me-102/reinstate", reason="cleared"
    )
    assert reinstated.json()["status"] == "certified", reinstated.text
    [*_, change] = status_changes(database_url)["me-102"]
    assert (change["new_status"], change["reason_code"], change["certificate_number"]) == (
        "certified",
        "operator_reinstated",
        "ME-2023-0102",
    )


def test_a_lapse_the_hours_recorded_here_contradict_is_refused(
    database_url: str, tmp_path: Path, on_today: None
) -> None:
    """Known from their training, with that year's hours in the ledger before the lapse
    began: the rules find them not lapsed, so the row is refused, not imported otherwise."""
    migrate_service(database_url, tables)
    earlier = service_on(database_url, date(2025, 2, 1))
    with earlier.runtime.unit_of_work() as uow:
        earlier.bus.bind(register_trained)([trained("p-known", date(2023, 1, 10))], uow)
        uow.commit()
    kept = [
        hours("p-known", "8", on=date(2024, 6, 1), category=HoursCategory.CONTINUING_EDUCATION),
        hours("p-known", "12", on=date(2024, 6, 1), category=HoursCategory.SKILL_BUILDING),
    ]
    with earlier.runtime.unit_of_work() as uow:
        earlier.bus.bind(record_hours)(kept, uow)
        uow.commit()
    path = tmp_path / "certificates.csv"
    path.write_text(
        "person_id,certificate_number,certified_on,status,status_since\n"
        "p-known,ME-2024-0001,2024-01-10,lapsed,2025-03-01\n",
        encoding="utf-8",
    )

    code, output = run_import(database_url, path)

    assert code == 1
    assert [line for line in output if line.startswith("line ")] == [
        "line 2: invalid_certificate: The hours recorded here keep this person from being "
        "lapsed on status_since."
    ]
    assert rows(database_url, tables.Certificate) == []
