from datetime import date
from decimal import Decimal

import pytest

from ips_certification.domain.hours import Claim, check
from ips_shared.contracts.events import HoursRejectionCode as Code

TODAY = date(2027, 6, 15)
BEGAN = date(2027, 1, 10)


def outcome(
    hours: str = "2", on: date = date(2027, 6, 1), already: str = "0", began: date | None = BEGAN
):
    rejection = check(
        Claim("p-1", "partner/smhc", Decimal(hours), on),
        record_began=began,
        already_that_day=Decimal(already),
        today=TODAY,
        max_per_day=Decimal(24),
    )
    return None if rejection is None else rejection.code


def test_good_hours_are_accepted():
    assert outcome() is None


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"began": None}, Code.UNKNOWN_PERSON),
        ({"hours": "0"}, Code.NON_POSITIVE_HOURS),
        ({"hours": "-1"}, Code.NON_POSITIVE_HOURS),
        ({"hours": "NaN"}, Code.NON_POSITIVE_HOURS),
        ({"hours": "1.005"}, Code.INVALID_PAYLOAD),
        ({"on": date(2027, 6, 16)}, Code.FUTURE_DATE),
        ({"on": date(2027, 1, 9)}, Code.BEFORE_RECORD_BEGAN),
        ({"hours": "24.01"}, Code.DAILY_LIMIT_EXCEEDED),
        ({"hours": "0.01", "already": "24"}, Code.DAILY_LIMIT_EXCEEDED),
    ],
)
def test_each_rule_refuses_with_its_code(arguments, code):
    assert outcome(**arguments) == code


@pytest.mark.parametrize(
    "arguments",
    [
        {"hours": "24"},
        {"hours": "0.01"},
        {"hours": "4", "already": "20"},
        {"on": TODAY},
        {"on": BEGAN},
    ],
)
def test_the_boundaries_are_inside(arguments):
    assert outcome(**arguments) is None


@pytest.mark.parametrize("began", [BEGAN, None])
def test_a_partner_learns_nothing_about_the_persons_record(began):
    """Neither the record's start date nor the person's id is in the reason."""
    rejection = check(
        Claim("p-1", "partner/smhc", Decimal(2), date(2027, 1, 9)),
        record_began=began,
        already_that_day=Decimal(0),
        today=TODAY,
        max_per_day=Decimal(24),
    )
    assert rejection is not None
    for told in (BEGAN.isoformat(), "2027", "01-10", "p-1"):
        assert told not in rejection.reason
