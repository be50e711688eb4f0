"""The shared parts of operators' lists: pages and CSV exports (a formula stays text)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from ips_shared.http import csv_response
from ips_shared.listing import Paged, PageRequest, csv_cell


def test_a_page_starts_where_the_previous_ended() -> None:
    assert PageRequest(1, 50).offset == 0
    assert PageRequest(3, 20).offset == 40
    page = Paged[str](items=["a"], total=41, page=3, page_size=20)
    assert page.model_dump() == {"items": ["a"], "total": 41, "page": 3, "page_size": 20}


def test_cells_are_plain_text_and_formulas_stay_text() -> None:
    assert [csv_cell(v) for v in (None, True, date(2027, 1, 2), Decimal("1.50"), 3)] == [
        "",
        "true",
        "2027-01-02",
        "1.50",
        "3",
    ]
    assert csv_cell(datetime(2027, 1, 2, 3, 4, tzinfo=UTC)) == "2027-01-02T03:04:00+00:00"
    for formula in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x"):
        assert csv_cell(formula) == "'" + formula


def test_the_export_reads_back_as_the_rows_it_was_given() -> None:
    rows = [{"name": 'Ana, "Jr"', "hours": Decimal("2.5")}, {"name": "=cmd", "extra": "x"}]
    answer = csv_response(rows, ["name", "hours"], "people.csv")
    assert answer.media_type == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="people.csv"'
    read = list(csv.DictReader(io.StringIO(bytes(answer.body).decode())))
    assert read == [{"name": 'Ana, "Jr"', "hours": "2.5"}, {"name": "'=cmd", "hours": ""}]
