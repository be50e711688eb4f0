"""Operator imports from CSV: reading rows into a service's row model, and the command body
that applies them with a progress bar and reports refusals by line.

No rules of any one service live here: a service gives its row model and columns, and a
function that applies one good row (raising a `DomainError` for a row its rules refuse).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.progress import track

from .errors import DomainError

M = TypeVar("M", bound=BaseModel)
FIELD_LIMIT = 131_072  # characters in one field: the csv module's own default limit


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (for example a required column is missing)."""


def read_rows(
    source: TextIO, model: type[M], columns: Sequence[str], required: Collection[str]
) -> Iterator[tuple[int, M | BadRow]]:
    """(line number, parsed row or the reason it is refused), in file order.

    Empty fields are left out (the model's defaults apply); reasons never echo the values.
    A field over `FIELD_LIMIT` characters refuses its row."""
    # At its own field limit the csv module raises partway through a record and loses its
    # place in a quoted field: its limit is lifted while reading, and this reader applies
    # FIELD_LIMIT to whole rows instead.
    limit = csv.field_size_limit(2**31 - 1)  # the largest a C long holds everywhere
    try:
        yield from _read_rows(source, model, columns, required)
    finally:
        csv.field_size_limit(limit)


def _read_rows(
    source: TextIO, model: type[M], columns: Sequence[str], required: Collection[str]
) -> Iterator[tuple[int, M | BadRow]]:
    reader = csv.DictReader(source)
    header = set(reader.fieldnames or ())
    if missing := set(required) - header:
        raise CsvFormatError(f"missing columns: {', '.join(sorted(missing))}")
    if unknown := header - set(columns):
        raise CsvFormatError(f"unknown columns: {', '.join(sorted(unknown))}")
    line = reader.line_num + 1  # a record's first line (a quoted field may span several)
    for record in reader:
        try:
            if None in record:
                yield line, BadRow(line, "more fields than columns")
                continue
            if oversized := [
                f"{column}: longer than {FIELD_LIMIT:,} characters"
                for column, value in record.items()
                if value is not None and len(value) > FIELD_LIMIT
            ]:
                yield line, BadRow(line, "; ".join(oversized))
                continue
            values = {key: value for key, value in record.items() if value not in (None, "")}
            yield line, model.model_validate(values)
        except ValidationError as error:
            reasons = "; ".join(
                f"{'.'.join(map(str, item['loc'])) or 'row'}: {item['msg']}"
                for item in error.errors(include_input=False, include_url=False)
            )
            yield line, BadRow(line, reasons)
        finally:
            line = reader.line_num + 1


def run_import(
    path: Path,
    read: Callable[[TextIO], Iterator[tuple[int, Any]]],
    apply: Callable[[Any], bool],
) -> None:
    """Import `path` row by row: `apply` each good row (True if it changed anything; a
    `DomainError` refuses the row), print each refusal as `line N: reason` and a summary.

    Exits 1 if any row was refused, 2 (naming the file) if the file cannot be read."""
    imported = unchanged = 0
    refused: list[BadRow] = []
    try:
        rows = _utf8_lines(path) - 1
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for line, row in track(read(handle), total=max(rows, 0), description="Importing"):
                if isinstance(row, BadRow):
                    refused.append(row)
                    continue
                try:
                    changed = apply(row)
                except DomainError as error:
                    refused.append(BadRow(line, f"{error.code}: {error}"))
                    continue
                imported, unchanged = imported + changed, unchanged + (not changed)
    except CsvFormatError as error:
        typer.echo(f"{path}: {error}", err=True)
        raise typer.Exit(2) from None
    for bad in refused:
        typer.echo(f"line {bad.line}: {bad.reason}")
    typer.echo(f"imported {imported}, unchanged {unchanged}, refused {len(refused)}")
    if refused:
        raise typer.Exit(1)


def _utf8_lines(path: Path) -> int:
    """The number of lines in `path`, once all of them are known to be UTF-8 text: a file in
    another encoding is refused before any of its rows is imported."""
    save_as = "the import reads UTF-8: save the file as UTF-8 (CSV UTF-8) and import it again"
    lines = 0
    with path.open("rb") as handle:
        # A UTF-8 character never holds the byte of a line feed, so lines decode one by one.
        for lines, raw in enumerate(handle, 1):
            if lines == 1 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise CsvFormatError(f"the file is UTF-16; {save_as}")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CsvFormatError(f"line {lines} is not UTF-8 text; {save_as}") from None
            if b"\0" in raw:  # no text has NUL characters; UTF-16 and UTF-32 are full of them
                raise CsvFormatError(f"line {lines} is not UTF-8 text; {save_as}")
    return lines
