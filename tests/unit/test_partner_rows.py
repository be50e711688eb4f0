"""The partner tool's reading of an hours file and its stable event ids: pure, no I/O."""

from __future__ import annotations

import codecs
import json
import uuid
from datetime import date
from decimal import Decimal

import pytest

from ips_partner.ids import event_ids
from ips_partner.publishing import Rejection, Results, read_answer
from ips_partner.rows import FileProblem, Invalid, Row, decode, parse
from ips_partner.summary import summarise
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import HoursCategory, HoursRejected

HEADER = "person_id,category,hours,activity_date,note,report_id\n"
SOURCE = "partner/mmc"


def rows_of(*lines: str, header: str = HEADER) -> list[Row | Invalid]:
    return parse(header + "".join(f"{line}\n" for line in lines))


def valid(*lines: str, header: str = HEADER) -> list[Row]:
    rows = rows_of(*lines, header=header)
    assert all(isinstance(row, Row) for row in rows), rows
    return rows  # type: ignore[return-value]


# Reading ------------------------------------------------------------------------------


def test_a_valid_row_becomes_the_report_it_describes() -> None:
    [row] = valid("p-1,skill_building,1.5,2027-03-01,warmline shift,")

    assert row.line == 2
    assert row.report.person_id == "p-1"
    assert row.report.category is HoursCategory.SKILL_BUILDING
    assert row.report.hours == Decimal("1.5")
    assert row.report.activity_date == date(2027, 3, 1)
    assert row.report.note == "warmline shift"
    assert row.report_id is None


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out() -> None:
    [row] = valid(
        "2027-03-01,2,p-1,co_reflection", header="activity_date,hours,person_id,category\n"
    )

    assert (row.report.person_id, row.report.hours, row.report.note) == ("p-1", Decimal(2), None)


def test_fields_and_column_names_are_trimmed_and_a_byte_order_mark_is_read() -> None:
    text = decode(
        codecs.BOM_UTF8 + b" Person_ID , category,hours,activity_date\n p-1 ,"
        b"volunteer_service, 3 ,2027-03-01\n"
    )
    [row] = parse(text)

    assert isinstance(row, Row)
    assert (row.report.person_id, row.report.hours) == ("p-1", Decimal(3))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("p-1,skill_building,-1,2027-03-01,,", "hours: Input should be greater than 0"),
        ("p-1,skill_building,0,2027-03-01,,", "hours: Input should be greater than 0"),
        ("p-1,skill_building,24.5,2027-03-01,,", "hours: Input should be less than or equal"),
        ("p-1,skill_building,1.505,2027-03-01,,", "hours: Decimal input should have no more"),
        ("p-1,skill_building,1.5,2027-02-30,,", "activity_date: Input should be a valid date"),
        ("p-1,skill_building,1.5,03/01/2027,,", "activity_date: Input should be a valid date"),
        ("p-1,skill_building,1.5,2027-03-01T00:00,,", "activity_date: write the date as YYYY"),
        ("p-1,skill_building,1.5,1699920000,,", "activity_date: write the date as YYYY-MM-DD"),
        ("p-1,supervision,1.5,2027-03-01,,", "category: Input should be 'continuing_education'"),
        (",skill_building,1.5,2027-03-01,,", "person_id: Field required"),
        ("p-1,skill_building,,2027-03-01,,", "hours: Field required"),
        ("p-1,skill_building,1.5,2027-03-01," + "x" * 201 + ",", "note: String should have at"),
        ("p-1,skill_building,1.5,2027-03-01,," + "r" * 65, "report_id: String should have at"),
        ("p-1,skill_building,1.5,2027-03-01,,,extra", "more fields than columns"),
    ],
)
def test_a_row_breaking_the_contract_is_invalid_with_its_line_and_reason(
    line: str, reason: str
) -> None:
    [good, bad] = rows_of("p-1,skill_building,1.5,2027-03-01,,", line)

    assert isinstance(good, Row)
    assert isinstance(bad, Invalid)
    assert bad.line == 3
    assert reason in bad.reason


def test_a_reason_never_repeats_the_values_of_the_row() -> None:
    [bad] = rows_of("depressed-jane,diagnosis-talk,-7.25,2027-99-01,saw her after her overdose,")

    assert isinstance(bad, Invalid)
    for value in ("depressed-jane", "diagnosis-talk", "-7.25", "2027-99-01", "overdose"):
        assert value not in bad.reason
    assert "category" in bad.reason and "hours" in bad.reason and "activity_date" in bad.reason


def test_every_problem_of_a_row_is_named() -> None:
    [bad] = rows_of("p-1,nope,-1,never,,")

    assert isinstance(bad, Invalid)
    assert [part.split(":")[0] for part in bad.reason.split("; ")] == [
        "category",
        "hours",
        "activity_date",
    ]


def test_a_repeated_report_id_makes_the_later_row_invalid() -> None:
    rows = rows_of(
        "p-1,skill_building,1,2027-03-01,,r-7",
        "p-2,skill_building,2,2027-03-02,,r-8",
        "p-3,skill_building,3,2027-03-03,,r-7",
    )

    assert [type(row) for row in rows] == [Row, Row, Invalid]
    assert rows[2] == Invalid(4, "report_id: the same as line 2's")


def test_blank_lines_are_skipped_and_line_numbers_follow_the_file() -> None:
    rows = rows_of(
        "p-1,skill_building,1,2027-03-01,,",
        "",
        ",,,,,",
        'p-2,skill_building,2,2027-03-02,"a note over',
        'two lines",',
        "p-3,skill_building,-3,2027-03-03,,",
    )

    assert [row.line for row in rows] == [2, 5, 7]
    assert isinstance(rows[1], Row) and rows[1].report.note == "a note over\ntwo lines"
    assert isinstance(rows[2], Invalid)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("person_id,category,hours\np-1,skill_building,1\n", "missing columns: activity_date"),
        (HEADER.replace("note", "diagnosis"), "unknown columns: diagnosis"),
        ("person_id,person_id,category,hours,activity_date\n", "named twice"),
    ],
)
def test_a_file_whose_columns_are_wrong_is_refused_whole(text: str, problem: str) -> None:
    with pytest.raises(FileProblem, match=problem):
        parse(text)


def test_a_field_under_an_unnamed_column_is_invalid_but_empty_ones_are_not() -> None:
    rows = rows_of(
        "p-1,skill_building,1,2027-03-01,,,",
        "p-1,skill_building,1,2027-03-02,,,x",
        header=HEADER.strip() + ",\n",
    )

    assert isinstance(rows[0], Row)
    assert rows[1] == Invalid(3, "a field in a column without a name")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("person_id\n".encode("utf-16"), "UTF-16"),
        (HEADER.encode() + b"p-1,skill_building,1,2027-03-01,caf\xe9,\n", "line 2 is not UTF-8"),
        (HEADER.encode() + b"\n\np-1\0,skill_building\n", "line 4 is not UTF-8"),
    ],
)
def test_a_file_in_another_encoding_is_refused_whole(raw: bytes, problem: str) -> None:
    with pytest.raises(FileProblem, match=problem):
        decode(raw)


# Stable ids -----------------------------------------------------------------------------


def test_ids_are_uuids_and_the_same_file_gives_the_same_ids_every_time() -> None:
    lines = ("p-1,skill_building,1.5,2027-03-01,,", "p-2,co_reflection,2,2027-03-02,,r-1")

    first, again = event_ids(SOURCE, valid(*lines)), event_ids(SOURCE, valid(*lines))

    assert first == again
    assert all(uuid.UUID(event_id).version == 5 for event_id in first)
    assert len(set(first)) == 2


PINNED = ["711e51fa-64be-5db1-aef3-ca00ecd67976", "47c98c13-8fc1-5003-98a1-74897e803746"]


def test_the_ids_are_pinned() -> None:
    """Changing how ids are made would make every row already sent count again."""
    ids = event_ids(
        SOURCE,
        valid("p-1,skill_building,1.5,2027-03-01,,", "p-2,co_reflection,2,2027-03-02,,r-1"),
    )

    assert ids == PINNED


def test_two_identical_rows_are_two_reports_and_keep_their_ids_on_a_re_run() -> None:
    row = "p-1,skill_building,1.5,2027-03-01,,"

    twice = event_ids(SOURCE, valid(row, row))
    with_another_before = event_ids(SOURCE, valid("p-9,skill_building,1,2027-03-01,,", row, row))

    assert twice[0] != twice[1]
    assert with_another_before[1:] == twice  # rows added elsewhere change no id


def test_the_same_amount_spelt_differently_is_the_same_report() -> None:
    spellings = ("1.5", "1.50", " 1.5 ", "15e-1")
    ids = {event_ids(SOURCE, valid(f"p-1,skill_building,{h},2027-03-01,,"))[0] for h in spellings}

    assert len(ids) == 1


def test_rewording_the_note_keeps_the_id_but_changing_what_counts_does_not() -> None:
    base = event_ids(SOURCE, valid("p-1,skill_building,1.5,2027-03-01,group,"))[0]

    assert event_ids(SOURCE, valid("p-1,skill_building,1.5,2027-03-01,peer group,"))[0] == base
    for changed in (
        "p-2,skill_building,1.5,2027-03-01,,",
        "p-1,co_reflection,1.5,2027-03-01,,",
        "p-1,skill_building,2,2027-03-01,,",
        "p-1,skill_building,1.5,2027-03-02,,",
    ):
        assert event_ids(SOURCE, valid(changed))[0] != base, changed


def test_a_report_id_names_the_report_whatever_the_row_says() -> None:
    first = event_ids(SOURCE, valid("p-1,skill_building,1.5,2027-03-01,,r-1"))
    corrected = event_ids(SOURCE, valid("p-1,skill_building,2,2027-03-04,,r-1"))
    without = event_ids(SOURCE, valid("p-1,skill_building,1.5,2027-03-01,,"))

    assert first == corrected
    assert first != without


def test_rows_with_a_report_id_do_not_shift_the_count_of_identical_rows() -> None:
    row = "p-1,skill_building,1.5,2027-03-01,,"

    plain = event_ids(SOURCE, valid(row, row))
    mixed = event_ids(SOURCE, valid(row + "r-1", row, row))

    assert mixed[1:] == plain


def test_two_sources_get_different_ids_for_the_same_row() -> None:
    rows = valid("p-1,skill_building,1.5,2027-03-01,,", "p-1,skill_building,1.5,2027-03-01,,r-1")

    assert set(event_ids("partner/mmc", rows)).isdisjoint(event_ids("partner/smhc", rows))


# The summary ----------------------------------------------------------------------------


def test_the_summary_counts_each_outcome_and_lists_the_lines_in_file_order() -> None:
    results = Results(
        published=[2, 3],
        already_known=[4],
        rejected=[Rejection(6, "unknown_person", "No person with this id is known here.")],
    )

    summary = summarise(results, [Invalid(5, "hours: Input should be greater than 0")], 5)

    assert summary.exit_code == 1
    assert summary.lines[:4] == [
        "published      2",
        "already known  1",
        "rejected       1",
        "invalid        1 (not sent)",
    ]
    assert summary.lines[4:6] == [
        "line 5: invalid: hours: Input should be greater than 0",
        "line 6: rejected: unknown_person: No person with this id is known here.",
    ]


@pytest.mark.parametrize(
    ("results", "invalid", "code"),
    [
        (Results(published=[2], already_known=[3]), [], 0),
        (Results(), [], 0),
        (Results(published=[2]), [Invalid(3, "hours: Field required")], 1),
        (
            Results(rejected=[Rejection(2, "future_date", "The activity date is in the future.")]),
            [],
            1,
        ),
        (Results(published=[2], unacknowledged=[(3, "timeout")]), [Invalid(4, "x")], 2),
    ],
)
def test_the_exit_code(results: Results, invalid: list[Invalid], code: int) -> None:
    assert summarise(results, invalid, 5).exit_code == code


# Reading the platform's answers -----------------------------------------------------------


def test_an_answer_is_read_from_the_contract_and_a_newer_reason_code_is_kept() -> None:
    answer = CloudEvent.wrap(
        HoursRejected(rejected_event_id="e-1", reason_code="future_date", reason="Later."),
        source="service/certification",
    )
    newer = json.loads(answer.to_json())
    newer["data"]["reason_code"] = "a_rule_added_later"

    assert read_answer(answer.to_json()) == ("e-1", "future_date", "Later.")
    assert read_answer(json.dumps(newer).encode()) == ("e-1", "a_rule_added_later", "Later.")
    for other in (b"", b"not json", b"[]", b'{"data": {"reason": "x"}}'):
        assert read_answer(other) is None
