"""The shared CSV import: oversized fields refuse their row and the rows after it are still
read; a file that is not UTF-8 is refused whole, before any row is applied."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
import typer
from pydantic import BaseModel, ConfigDict

from ips_shared.csv_import import BadRow, read_rows, run_import

LIMIT = 131_072  # characters in one field, as the csv module allows by default
HEADER = "key,note\n"


class Note(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    note: str = ""


def read(text: str) -> list[tuple[int, Note | BadRow]]:
    return list(read_rows(io.StringIO(text, newline=""), Note, ("key", "note"), {"key"}))


def test_an_oversized_field_refuses_its_row_and_the_rows_after_it_are_read() -> None:
    found = read(
        HEADER
        + "k-1,short\n"
        + f"k-2,{'x' * (LIMIT + 1)}\n"
        + f'k-3,"{"y" * LIMIT}\n{"y" * LIMIT}\nk-9,still inside the quotes"\n'
        + "k-4,short\n"
    )

    assert [(line, getattr(row, "key", None)) for line, row in found] == [
        (2, "k-1"),
        (3, None),
        (4, None),
        (7, "k-4"),
    ]
    refusals = [row for _, row in found if isinstance(row, BadRow)]
    assert [bad.reason for bad in refusals] == ["note: longer than 131,072 characters"] * 2
    assert all("x" not in bad.reason and "y" not in bad.reason for bad in refusals)


def test_a_field_of_exactly_the_limit_is_read() -> None:
    [(line, row)] = read(HEADER + f"k-1,{'x' * LIMIT}\n")

    assert line == 2 and isinstance(row, Note) and len(row.note) == LIMIT


def test_reading_leaves_the_csv_modules_limit_as_it_was() -> None:
    before = csv.field_size_limit()

    read(HEADER + f"k-1,{'x' * (LIMIT + 1)}\n")

    assert csv.field_size_limit() == before


# -- the file as a whole --------------------------------------------------------------------


def import_file(path: Path) -> tuple[int, list[Note]]:
    """Runs the import of `path`; (exit code, rows applied)."""
    applied: list[Note] = []

    def apply(row: Note) -> bool:
        applied.append(row)
        return True

    def reader(source: TextIO) -> Iterator[tuple[int, Note | BadRow]]:
        return read_rows(source, Note, ("key", "note"), {"key"})

    try:
        run_import(path, reader, apply)
    except typer.Exit as exit_:
        return exit_.exit_code, applied
    return 0, applied


@pytest.mark.parametrize(
    ("encoding", "found"),
    [
        pytest.param("latin-1", "line 4 is not UTF-8 text", id="latin-1"),
        pytest.param("cp1252", "line 4 is not UTF-8 text", id="windows-1252"),
        pytest.param("utf-16", "the file is UTF-16", id="utf-16"),
        pytest.param("utf-16-le", "line 1 is not UTF-8 text", id="utf-16-without-mark"),
    ],
)
def test_a_file_in_another_encoding_is_refused_whole_before_any_row_is_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str, found: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "k-1,plain\nk-2,plain\nk-3,Chloé\nk-4,plain\n", encoding=encoding)

    code, applied = import_file(path)

    assert (code, applied) == (2, [])
    message = capsys.readouterr().err
    assert found in message
    assert "UTF-8" in message and "Chlo" not in message


def test_a_utf8_file_with_or_without_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    for encoding in ("utf-8", "utf-8-sig"):
        path.write_text(HEADER + "k-1,Chloé\n", encoding=encoding)

        assert import_file(path) == (0, [Note(key="k-1", note="Chloé")])


def test_an_oversized_field_in_a_file_refuses_that_row_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + f"k-1,{'x' * (LIMIT + 1)}\nk-2,plain\n", encoding="utf-8")

    code, applied = import_file(path)

    assert (code, [row.key for row in applied]) == (1, ["k-2"])
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "line 2: note: longer than 131,072 characters",
        "imported 1, unchanged 0, refused 1",
    ]
