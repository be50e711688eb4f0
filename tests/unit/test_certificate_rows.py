"""Reading a state's certificates spreadsheet (CSV): good rows, refusals by line, format."""

from __future__ import annotations

import io
from datetime import date

import pytest

from ips_certification.domain.certificates import (
    CertificateRow,
    ImportedStatus,
    check_dates,
    read_certificates,
    vouched_until,
)
from ips_certification.domain.errors import InvalidCertificate
from ips_certification.domain.policy import CertificationPolicy
from ips_certification.domain.status import (
    Decision,
    Entry,
    Facts,
    OperatorDecision,
    Reason,
    Standing,
    StatusChanged,
    advance,
)
from ips_shared.contracts.events import CertificationStatus, HoursCategory
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


STATUS_HEADER = "person_id,certificate_number,certified_on,status,status_since\n"


def test_a_status_is_read_with_the_date_it_began() -> None:
    found = read(
        STATUS_HEADER
        + "me-1,ME-1,2024-09-01,lapsed,2025-10-15\n"
        + "me-2,ME-2,2024-09-01,suspended,2024-09-01\n"
        + "me-3,ME-3,2024-09-01,withdrawn,2026-01-31\n"
        + "me-4,ME-4,2024-09-01,,\n"
    )
    assert [
        (row.status, row.status_since) for _, row in found if isinstance(row, CertificateRow)
    ] == [
        (ImportedStatus.LAPSED, date(2025, 10, 15)),
        (ImportedStatus.SUSPENDED, date(2024, 9, 1)),
        (ImportedStatus.WITHDRAWN, date(2026, 1, 31)),
        (None, None),
    ]


@pytest.mark.parametrize(
    ("record", "column", "sentence"),
    [
        ("me-1,ME-1,2024-09-01,expired,2025-01-01", "status", "'lapsed', 'suspended' or"),
        ("me-1,ME-1,2024-09-01,certified,2025-01-01", "status", "'lapsed', 'suspended' or"),
        ("me-1,ME-1,2024-09-01,Lapsed,2025-01-01", "status", "'lapsed', 'suspended' or"),
        ("me-1,ME-1,2024-09-01,lapsed,2025-02-30", "status_since", "valid date"),
        ("me-1,ME-1,2024-09-01,lapsed,", "row", "status_since is required with a status"),
        ("me-1,ME-1,2024-09-01,,2025-01-01", "row", "status_since is given without a status"),
        ("me-1,ME-1,2024-09-01,suspended,2024-08-31", "row", "status_since is before certified"),
    ],
)
def test_a_bad_status_is_refused_by_its_column_without_echoing_it(
    record: str, column: str, sentence: str
) -> None:
    [(line, bad)] = read(STATUS_HEADER + record + "\n")
    assert isinstance(bad, BadRow) and line == 2
    assert bad.reason.startswith(f"{column}: ") or column == "row", bad.reason
    assert sentence in bad.reason
    for value in record.split(","):
        assert len(value) < 4 or value not in bad.reason


TODAY = date(2026, 6, 15)
POLICY = CertificationPolicy()


def row_with(status: str | None = None, since: date | None = None) -> CertificateRow:
    return CertificateRow(
        person_id="me-1",
        certificate_number="ME-1",
        certified_on=date(2024, 9, 1),
        status=status,
        status_since=since,
    )


def vouched(row: CertificateRow) -> date:
    assert row.trained_on is not None
    return vouched_until(
        row, trained_on=row.trained_on, cohort_id=row.cohort, policy=POLICY, today=TODAY
    )


def test_a_status_that_began_after_today_is_refused() -> None:
    with pytest.raises(InvalidCertificate, match="status_since is in the future"):
        check_dates(row_with("suspended", date(2026, 6, 16)), today=TODAY, record_began=None)
    check_dates(row_with("suspended", TODAY), today=TODAY, record_began=None)


def test_the_import_vouches_until_today_for_a_certificate_in_good_standing_or_held() -> None:
    assert vouched(row_with()) == TODAY
    assert vouched(row_with("suspended", date(2025, 2, 1))) == TODAY
    assert vouched(row_with("withdrawn", date(2024, 9, 1))) == TODAY


@pytest.mark.parametrize(
    ("since", "unmet_year_start"),
    [
        # Year 1 (from 2024-09-01) ends 2025-09-01; its 30-day grace ends 2025-10-01.
        (date(2025, 10, 1), date(2024, 9, 1)),
        (date(2026, 9, 30), date(2024, 9, 1)),
        (date(2026, 10, 1), date(2025, 9, 1)),  # year 2's grace has passed too
    ],
)
def test_a_lapse_is_vouched_until_the_year_that_went_unmet(
    since: date, unmet_year_start: date
) -> None:
    assert vouched(row_with("lapsed", since)) == unmet_year_start


@pytest.mark.parametrize("since", [date(2024, 9, 1), date(2025, 9, 1), date(2025, 9, 30)])
def test_a_lapse_before_a_year_and_its_grace_could_pass_is_refused(since: date) -> None:
    with pytest.raises(InvalidCertificate, match="too early for a lapse"):
        vouched(row_with("lapsed", since))


def imported(row: CertificateRow, *entries: Entry) -> Facts:
    """What the rules read of an imported row (as the import stores it)."""
    assert row.trained_on is not None
    return Facts(
        row.trained_on,
        row.cohort,
        entries=entries,
        decisions=(
            (OperatorDecision(Decision.SUSPEND, row.status_since),)
            if row.status is ImportedStatus.SUSPENDED and row.status_since
            else ()
        ),
        certified_on=row.certified_on,
        vouched_until=vouched(row),
    )


def test_an_imported_lapse_begins_the_history_on_its_date_and_late_hours_reinstate() -> None:
    row = row_with("lapsed", date(2025, 10, 15))
    lapsed = imported(row)

    standing, first, _ = advance(Standing(), lapsed, POLICY, date(2025, 10, 15))
    standing, then, found = advance(standing, lapsed, POLICY, TODAY)

    assert first == [
        StatusChanged(
            None,
            CertificationStatus.LAPSED,
            Reason.CERTIFICATE_IMPORTED,
            date(2025, 10, 15),
            "maine-2026.1",
            True,
        )
    ]
    assert (then, found.status) == ([], CertificationStatus.LAPSED)

    late = [  # the unmet year's hours, dated in it, recorded today
        Entry(f"h-{category}", date(2025, 5, 1), category, amount, known_on=TODAY)
        for category, amount in (
            (HoursCategory.CONTINUING_EDUCATION, 8),
            (HoursCategory.SKILL_BUILDING, 12),
        )
    ]
    _, reinstated, found = advance(standing, imported(row, *late), POLICY, TODAY)
    assert [(c.old, c.new, c.reason) for c in reinstated] == [
        (CertificationStatus.LAPSED, CertificationStatus.CERTIFIED, Reason.REINSTATED)
    ]


def test_an_imported_hold_is_announced_as_imported_from_the_day_it_began() -> None:
    held = imported(row_with("suspended", date(2025, 2, 1)))

    standing, occasions, _ = advance(Standing(), held, POLICY, date(2025, 2, 1))
    _, later, found = advance(standing, held, POLICY, TODAY)

    assert [(c.old, c.new, c.reason, c.effective) for c in occasions] == [
        (None, CertificationStatus.SUSPENDED, Reason.CERTIFICATE_IMPORTED, date(2025, 2, 1))
    ]
    assert (later, found.status) == ([], CertificationStatus.SUSPENDED)


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
