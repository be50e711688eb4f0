"""Reading a state's certificates spreadsheet (CSV): good rows, refusals by line, format."""

from __future__ import annotations

import io
from datetime import date

import pytest

from ips_certification.domain.certificates import CertificateRow, read_certificates
from ips_shared.csv_import import BadRow, CsvFormatError

HEADER = "person_id,certificate_number,certified_on,trained_on,cohort,last_review_on\n"


def read(text: str) -> list[tuple[int, CertificateRow | BadRow]]:
    return list(read_certificates(io.StringIO(text, newline="")))


def refusal(text: str) -> BadRow:
    [(line, row)] = read(HEADER + text)
    assert isinstance(row, BadRow), row
    assert row.line == line == 2
    return row


def test_good_rows_with_their_defaults() -> None:
    found = read(
        HEADER
        + "me-001,ME-2019-0042,2020-06-15,2019-05-01,2019-spring,2024-05-20\n"
        + " me-002 , ME-2021-7 ,2021-02-28,,,\n"
        + "me-003,0099,2024-02-29,,,\n"
    )
    assert [line for line, _ in found] == [2, 3, 4]
    first, second, third = (row for _, row in found)
    assert first == CertificateRow(
        person_id="me-001",
        certificate_number="ME-2019-0042",
        certified_on=date(2020, 6, 15),
        trained_on=date(2019, 5, 1),
        cohort="2019-spring",
        last_review_on=date(2024, 5, 20),
    )
    assert isinstance(second, CertificateRow) and isinstance(third, CertificateRow)
    assert (second.person_id, second.certificate_number) == ("me-002", "ME-2021-7")
    # The default record begins the default rules' first year (12 months) earlier.
    assert (second.trained_on, second.cohort) == (date(2020, 2, 28), "imported")
    assert second.last_review_on is None
    assert third.trained_on == date(2023, 2, 28)  # from Feb 29: the last day of February


def test_only_the_required_columns_in_any_order() -> None:
    [(line, row)] = read("certified_on,person_id,certificate_number\n2022-01-10,me-9,A1\n")
    assert line == 2
    assert isinstance(row, CertificateRow)
    assert (row.person_id, row.certificate_number, row.trained_on) == (
        "me-9",
        "A1",
        date(2021, 1, 10),
    )


@pytest.mark.parametrize(
    ("record", "column", "sentence"),
    [
        (",ME-1,2020-01-01,,,", "person_id", "Field required"),
        ("me-1,,2020-01-01,,,", "certificate_number", "Field required"),
        ("me-1,ME-1,,,,", "certified_on", "Field required"),
        ("me-1,ME 1,2020-01-01,,,", "certificate_number", "should match pattern"),
        ("me-1,ME_1,2020-01-01,,,", "certificate_number", "should match pattern"),
        ("me-1,-ME1,2020-01-01,,,", "certificate_number", "should match pattern"),
        ("me-1,ME--1,2020-01-01,,,", "certificate_number", "should match pattern"),
        ("me-1," + "A" * 33 + ",2020-01-01,,,", "certificate_number", "at most 32"),
        ("me-1,ME-1,2020-13-01,,,", "certified_on", "valid date"),
        ("me-1,ME-1,15/06/2020,,,", "certified_on", "valid date"),
        ("me-1,ME-1,2020-01-01,yesterday,,", "trained_on", "valid date"),
        ("me-1,ME-1,2020-01-01,,,2020-02-30", "last_review_on", "valid date"),
        ("me-1,ME-1,2020-01-01,,a cohort,", "cohort", "should match pattern"),
        ("me-1,ME-1,2020-01-01,,abcdefghijklmnopq,", "cohort", "at most 16"),
        ("m" * 65 + ",ME-1,2020-01-01,,,", "person_id", "at most 64"),
        ("me-1,ME-1,2020-01-01,2020-01-02,,", "row", "trained_on is after certified_on"),
        ("me-1,ME-1,2020-01-01,2019-03-01,,2019-02-28", "row", "last_review_on is before"),
        ("me-1,ME-1,2020-01-01,,,2018-12-31", "row", "last_review_on is before trained_on"),
        ("me-1,ME-1,2020-01-01,,,,extra", "row", "more fields than columns"),
    ],
)
def test_each_bad_value_is_refused_by_its_column_without_echoing_it(
    record: str, column: str, sentence: str
) -> None:
    bad = refusal(record + "\n")
    assert bad.reason.startswith(f"{column}: ") or column == "row", bad.reason
    assert sentence in bad.reason
    for value in record.split(","):
        assert len(value) < 4 or value not in bad.reason  # reasons never echo what was sent


def test_a_bad_row_does_not_stop_the_rows_after_it_and_lines_count_from_the_file() -> None:
    found = read(
        HEADER
        + "me-1,ME-1,2020-01-01,,,\n"
        + 'me-2,"ME-2\nME-3",2020-01-01,,,\n'  # a quoted field over two lines
        + "me-3,ME-3,2020-02-30,,,\n"
        + "me-4,ME-4,2020-01-01,,,\n"
    )
    assert [(line, type(row).__name__) for line, row in found] == [
        (2, "CertificateRow"),
        (3, "BadRow"),
        (5, "BadRow"),
        (6, "CertificateRow"),
    ]
    assert [row.line for _, row in found if isinstance(row, BadRow)] == [3, 5]


def test_a_byte_order_mark_is_read_as_such(tmp_path) -> None:
    path = tmp_path / "certificates.csv"
    path.write_bytes("\ufeff".encode() + (HEADER + "me-1,ME-1,2020-01-01,,,\n").encode())
    with path.open(newline="", encoding="utf-8-sig") as handle:
        [(line, row)] = list(read_certificates(handle))
    assert line == 2 and isinstance(row, CertificateRow) and row.person_id == "me-1"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("person_id,certified_on\n", "missing columns: certificate_number"),
        ("name,region\n", "missing columns: certificate_number, certified_on, person_id"),
        ("", "missing columns: certificate_number, certified_on, person_id"),
        (
            "person_id,certificate_number,certified_on,name\n",
            "unknown columns: name",
        ),
    ],
)
def test_a_file_without_a_required_column_is_refused_whole(header: str, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message):
        read(header + "me-1,ME-1,2020-01-01\n")
