"""`ips-enrollment import-roster`: a state's roster in, row by row, idempotently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, create_engine, select
from typer.testing import CliRunner

from ips_enrollment.db import tables
from ips_enrollment.db.tables import Outbox, Person, TrainingCompletion
from ips_enrollment.entrypoints.cli import cli

from .harness import migrate_service, rows

ROSTER = """\
person_id,name,region,email,phone,preferred_channel,sms_consent,ps101_completed_on,training_cohort,training_completed_on
me-001,Alex Doe,Cumberland,alex@example.org,,email,,2024-03-02,2024-spring,2024-06-10
me-002,Sam Roe,York,,207-555-0101,sms,true,2025-01-20,,
me-003,,York,,,,,,,
me-004,Kim Poe,Penobscot,not-an-email,,,,2024-13-01,,
me-005,"Lee
Moe",Kennebec,,,,,,2023-fall,
me-006,Ana Loe,Oxford,,,,,,,
me-007,Bo Toe,Oxford,,207-555-0199,sms,false,,,
"""


def run_import(database_url: str, roster: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(
        cli, ["import-roster", str(roster)], env={"ENROLLMENT_DATABASE_URL": database_url}
    )
    return result.exit_code, result.output.strip().splitlines()


def outbox_types(database_url: str) -> list[str]:
    return sorted(row.event_type for row in rows(database_url, Outbox))


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def test_good_rows_are_imported_once_and_bad_rows_reported_by_line(
    database_url: str, roster: Path
) -> None:
    migrate_service(database_url, tables)

    code, output = run_import(database_url, roster)
    assert code == 1
    refused = [line for line in output if line.startswith("line ")]
    assert [line.split(":")[0] for line in refused] == ["line 4", "line 5", "line 6", "line 9"]
    assert "name: Field required" in refused[0]
    assert "email" in refused[1] and "ps101_completed_on" in refused[1]
    assert "not-an-email" not in refused[1]  # reasons never echo what was sent
    assert "training_cohort and training_completed_on go together" in refused[2]
    assert "consent" in refused[3]
    assert output[-1] == "imported 3, unchanged 0, refused 4"
    assert outbox_types(database_url) == [
        "PeerSupport101Completed",
        "PeerSupport101Completed",
        *["PersonContactChanged"] * 3,  # one per person created
        "TrainingCompleted",
    ]
    [trained] = [
        json.loads(row.payload)["data"]
        for row in rows(database_url, Outbox)
        if row.event_type == "TrainingCompleted"
    ]
    assert trained == {
        "person_id": "me-001",
        "cohort_id": "2024-spring",
        "completed_on": "2024-06-10",
        "region": "Cumberland",  # the person's, for certification's lists
    }

    code, output = run_import(database_url, roster)
    assert output[-1] == "imported 0, unchanged 3, refused 4"
    assert len(outbox_types(database_url)) == 6

    engine = create_engine(database_url)
    with Session(engine) as session:
        people = {person.id: person for person in session.exec(select(Person))}
        assert sorted(people) == ["me-001", "me-002", "me-006"]
        assert [people[key].sms_consent for key in sorted(people)] == [False, True, False]
        assert people["me-002"].phone == "+12075550101"  # kept as E.164
        [completion] = session.exec(select(TrainingCompletion)).all()
        assert (completion.person_id, completion.cohort_id) == ("me-001", "2024-spring")
    engine.dispose()


def test_a_roster_without_a_required_column_is_refused_whole(
    database_url: str, tmp_path: Path
) -> None:
    migrate_service(database_url, tables)
    roster = tmp_path / "roster.csv"
    roster.write_text("person_id,region\nme-1,York\n", encoding="utf-8")

    result = CliRunner().invoke(
        cli, ["import-roster", str(roster)], env={"ENROLLMENT_DATABASE_URL": database_url}
    )

    assert result.exit_code == 2
    assert "missing columns: name" in result.output


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_roster_not_in_utf8_is_refused_whole_before_any_row_is_imported(
    database_url: str, tmp_path: Path, encoding: str
) -> None:
    migrate_service(database_url, tables)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "person_id,name,region\nme-1,Ana Loe,York\nme-2,Zoé Roe,York\n", encoding=encoding
    )

    result = CliRunner().invoke(
        cli, ["import-roster", str(roster)], env={"ENROLLMENT_DATABASE_URL": database_url}
    )

    assert result.exit_code == 2, result.output
    assert "UTF-8" in result.output and "Zo" not in result.output
    assert rows(database_url, Person) == []


def test_a_field_over_the_limit_refuses_its_row_and_the_rows_after_it_are_imported(
    database_url: str, tmp_path: Path
) -> None:
    migrate_service(database_url, tables)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f'person_id,name,region\nme-1,"{"A" * 200_000}",York\nme-2,Ana Loe,York\n',
        encoding="utf-8",
    )

    code, output = run_import(database_url, roster)

    assert code == 1
    assert output[-2:] == [
        "line 2: name: longer than 131,072 characters",
        "imported 1, unchanged 0, refused 1",
    ]
    assert [person.id for person in rows(database_url, Person)] == ["me-2"]


def test_completions_still_to_come_and_cohorts_the_calendar_lacks_are_refused(
    database_url: str, tmp_path: Path
) -> None:
    migrate_service(database_url, tables)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "person_id,name,region,ps101_completed_on,training_cohort,training_completed_on\n"
        "me-1,Ana Loe,York,2099-01-01,,\n"
        "me-2,Bo Toe,York,,2099-spring,2099-06-01\n"
        "me-3,Cy Poe,York,,0000-spring,2024-06-01\n"
        "me-4,Di Roe,York,2024-01-01,2024-spring,2024-06-01\n",
        encoding="utf-8",
    )

    code, output = run_import(database_url, roster)

    assert code == 1
    assert output[-4:] == [
        "line 2: future_date: ps101_completed_on is after today.",
        "line 3: future_date: training_completed_on is after today.",
        "line 4: unknown_cohort: No intake of the program's calendar has this cohort id.",
        "imported 1, unchanged 0, refused 3",
    ]
    assert [person.id for person in rows(database_url, Person)] == ["me-4"]
    assert outbox_types(database_url) == [
        "PeerSupport101Completed",
        "PersonContactChanged",
        "TrainingCompleted",
    ]


def test_an_id_held_under_another_name_is_refused_without_repeating_the_id(
    database_url: str, tmp_path: Path
) -> None:
    migrate_service(database_url, tables)
    header = ROSTER.splitlines()[0]
    for name in ("Alex Doe", "Alex Other"):
        (tmp_path / "roster.csv").write_text(
            f"{header}\nzz-secret-id-42,{name},York,,,,,,,\n", encoding="utf-8"
        )
        code, output = run_import(database_url, tmp_path / "roster.csv")
    assert code == 1
    [refused] = [line for line in output if line.startswith("line ")]
    assert "another name" in refused
    assert not any(part in refused for part in ("zz-", "secret", "42"))
