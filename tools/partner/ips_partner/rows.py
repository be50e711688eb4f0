"""Reading an hours file: every row checked against the `HoursLogged` contract before
anything is sent.

The file is UTF-8 CSV (with or without a byte order mark) with a header naming the columns,
in any order: `person_id`, `category`, `hours`, `activity_date` (required), `note` and
`report_id` (optional). Fields are trimmed of surrounding spaces; an empty optional field
is absent. A row that breaks the contract is reported with its line number and a reason
that never repeats what the row holds (the terminal or a log may be seen by others).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import StringConstraints, TypeAdapter, ValidationError

from ips_shared.contracts.events import HoursLogged

REQUIRED = ("person_id", "category", "hours", "activity_date")
COLUMNS = (*REQUIRED, "note", "report_id")
REPORT_ID = TypeAdapter(Annotated[str, StringConstraints(min_length=1, max_length=64)])
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # the one spelling the guide asks for
SAVE_AS = "save the file as UTF-8 (CSV UTF-8) and run again"


@dataclass(frozen=True)
class Row:
    """A row that keeps the contract: the report it becomes, and where it was written."""

    line: int
    report: HoursLogged
    report_id: str | None = None


@dataclass(frozen=True)
class Invalid:
    """A row refused before sending: its line and why (never its values)."""

    line: int
    reason: str


class FileProblem(ValueError):
    """The file as a whole cannot be read: not UTF-8, a column missing or unknown."""


def read_file(path: Path) -> list[Row | Invalid]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FileProblem(f"cannot be read ({error.strerror})") from None
    return parse(decode(raw))


def decode(raw: bytes) -> str:
    """The file's text; a file in another encoding than UTF-8 is refused whole."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem(f"the file is UTF-16; {SAVE_AS}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise FileProblem(f"line {line} is not UTF-8 text; {SAVE_AS}") from None
    if "\0" in text:  # no text has NUL characters; UTF-16 and UTF-32 are full of them
        line = text.count("\n", 0, text.index("\0")) + 1
        raise FileProblem(f"line {line} is not UTF-8 text; {SAVE_AS}")
    return text


def parse(text: str) -> list[Row | Invalid]:
    """Every row of the file, in order, as a `Row` or the reason it is `Invalid`."""
    rows: list[Row | Invalid] = []
    first_seen: dict[str, int] = {}  # report_id -> the line that used it first
    for line, values in _records(text):
        row = _row(line, values)
        if isinstance(row, Row) and row.report_id is not None:
            if row.report_id in first_seen:
                row = Invalid(line, f"report_id: the same as line {first_seen[row.report_id]}'s")
            else:
                first_seen[row.report_id] = line
        rows.append(row)
    return rows


def _records(text: str) -> Iterator[tuple[int, dict[str, str] | Invalid]]:
    """(a record's first line, its fields by column), blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(header):
            raise FileProblem("the file is empty: the first line names the columns")
        if missing := [name for name in REQUIRED if name not in header]:
            raise FileProblem(f"missing columns: {', '.join(missing)}")
        if unknown := sorted(set(header) - set(COLUMNS) - {""}):
            expected = ", ".join(COLUMNS)
            raise FileProblem(f"unknown columns: {', '.join(unknown)} (the columns: {expected})")
        named = [name for name in header if name]
        if len(set(named)) < len(named):
            raise FileProblem("a column is named twice in the first line")
        line = reader.line_num + 1
        for fields in reader:
            if any(field.strip() for field in fields):
                yield line, _fields(line, header, fields)
            line = reader.line_num + 1
    except csv.Error as error:
        raise FileProblem(f"line {reader.line_num}: {error}") from None


def _fields(line: int, header: list[str], fields: list[str]) -> dict[str, str] | Invalid:
    if len(fields) > len(header):
        return Invalid(line, "more fields than columns")
    values = dict.fromkeys(header, "")
    for name, field in zip(header, fields, strict=False):
        if not name and field.strip():
            return Invalid(line, "a field in a column without a name")
        values[name] = field.strip()
    values.pop("", None)
    return values


def _row(line: int, values: dict[str, str] | Invalid) -> Row | Invalid:
    if isinstance(values, Invalid):
        return values
    present = {name: value for name, value in values.items() if value}
    report_id = present.pop("report_id", None)
    reasons: list[str] = []
    try:
        report = HoursLogged.model_validate(present)
    except ValidationError as error:
        reasons += _reasons(error)
    spelt = present.get("activity_date")
    if spelt and not ISO_DATE.fullmatch(spelt) and not any("activity_date:" in r for r in reasons):
        reasons.append("activity_date: write the date as YYYY-MM-DD")  # e.g. no time of day
    if report_id is not None:
        try:
            REPORT_ID.validate_python(report_id)
        except ValidationError as error:
            reasons += _reasons(error, "report_id")
    if reasons:
        return Invalid(line, "; ".join(reasons))
    return Row(line, report, report_id)


def _reasons(error: ValidationError, field: str | None = None) -> list[str]:
    return [
        f"{field or '.'.join(map(str, item['loc'])) or 'row'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False, include_context=False)
    ]
