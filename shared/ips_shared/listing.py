"""What every list an operator reads has in common: a page of results with the total, and
the same list as a CSV file (`?format=csv`, the same filters, every matching row; the HTTP
side is in `ips_shared.http`: `PageNumber`, `PageSize`, `ListFormat`, `csv_response`).

A CSV cell that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`,
a tab or a carriage return) is prefixed with `'`, so a name typed as `=HYPERLINK(...)`
stays text when an operator opens the export (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

LARGEST_PAGE = 500


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    page_size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Paged(BaseModel, Generic[T]):
    """One page of a list, and how many rows match in all."""

    items: list[T]
    total: int
    page: int
    page_size: int


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The rows as CSV with a header line (`columns`, in that order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return out.getvalue()
