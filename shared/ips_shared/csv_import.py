"""Operator imports from CSV: reading rows into a service's row model, and the command body
that applies them with a progress bar and reports refusals by line.

No rules of any one service live here: a service gives its row model and columns, and a
function that applies one good row (raising a `DomainError` for a row its rules refuse).
"""

from __future__ import annotations

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

    Empty fields are left out (the model's defaults apply); reasons never echo the values."""
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
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = sum(1 for _ in handle) - 1
    imported = unchanged = 0
    refused: list[BadRow] = []
    try:
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
