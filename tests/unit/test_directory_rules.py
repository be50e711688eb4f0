"""The directory's rules without I/O: certificates from status changes (which dates are
kept, "valid through"), what a profile shows and makes searchable, search terms, and the
month-to-month schedule of groups."""

from __future__ import annotations

from datetime import date, time

import pytest

from ips_directory.domain.centers import Meeting, Weekday
from ips_directory.domain.certificates import Certificate, apply, verify, year_end
from ips_directory.domain.errors import InvalidSchedule, ShownFieldEmpty
from ips_directory.domain.profiles import Field, Profile, Setting
from ips_directory.domain.search import postgresql_tsquery, sqlite_match, terms
from ips_shared.contracts.events import CertificationStatus, CertificationStatusChanged

S = CertificationStatus


def change(new: S, reason: str, on: date, number: str | None = None, **extra: object):
    return CertificationStatusChanged(
        person_id="p-1",
        old_status=None,
        new_status=new,
        reason_code=reason,
        effective_date=on,
        policy_version="1",
        certificate_number=number,
        **extra,  # type: ignore[arg-type]
    )


def history(*changes: CertificationStatusChanged) -> Certificate:
    current = None
    for each in changes:
        current = apply(current, each)
    assert current is not None
    return current


TRAINED = change(S.TRAINED, "training_completed", date(2025, 3, 1))
CERTIFIED = change(S.CERTIFIED, "first_year_met", date(2026, 3, 1), "ME-2026-1")


def test_a_certified_person_is_valid_through_the_end_of_the_year_they_are_in() -> None:
    certificate = history(TRAINED, CERTIFIED)
    assert certificate.listable and certificate.certified_since == date(2026, 3, 1)
    assert verify(certificate, date(2026, 3, 1)).valid_through == date(2027, 3, 1)
    assert verify(certificate, date(2027, 2, 28)).valid_through == date(2027, 3, 1)
    # A year met brings no event: the next one is counted from the anniversary.
    assert verify(certificate, date(2027, 3, 1)).valid_through == date(2028, 3, 1)


def test_at_risk_shows_the_year_at_risk_and_a_lapse_its_date_only() -> None:
    short = change(
        S.AT_RISK, "hours_short_near_year_end", date(2027, 1, 1), year_ends_on=date(2027, 3, 1)
    )
    at_risk = history(TRAINED, CERTIFIED, short)
    assert at_risk.listable and verify(at_risk, date(2027, 3, 10)).valid_through == date(2027, 3, 1)
    ended = history(TRAINED, CERTIFIED, change(S.AT_RISK, "year_ended_unmet", date(2027, 3, 1)))
    assert ended.year_ends_on == date(2027, 3, 1)  # the year that just ended unmet
    lapsed = history(
        TRAINED, CERTIFIED, short, change(S.LAPSED, "year_ended_unmet", date(2027, 4, 1))
    )
    assert not lapsed.listable
    answer = verify(lapsed, date(2027, 6, 1))
    assert (answer.status, answer.certified_since, answer.valid_through, answer.lapsed_since) == (
        S.LAPSED,
        None,
        None,
        date(2027, 4, 1),
    )


def test_reinstatement_begins_a_new_run_on_the_same_certificate_and_anniversary() -> None:
    back = history(
        TRAINED,
        CERTIFIED,
        change(S.SUSPENDED, "operator_suspended", date(2026, 6, 1)),
        change(S.CERTIFIED, "operator_reinstated", date(2026, 7, 1)),
    )
    assert back.number == "ME-2026-1" and back.certified_since == date(2026, 7, 1)
    assert back.anniversary == date(2026, 3, 1)
    assert verify(back, date(2026, 8, 1)).valid_through == date(2027, 3, 1)


def test_no_certificate_no_listing() -> None:
    first_year_at_risk = history(
        TRAINED, change(S.AT_RISK, "hours_short_near_year_end", date(2026, 1, 1))
    )
    assert not first_year_at_risk.listable and first_year_at_risk.number is None


def test_leap_day_anniversaries_fall_on_the_last_day_of_february() -> None:
    assert year_end(date(2024, 2, 29), date(2024, 6, 1)) == date(2025, 2, 28)
    assert year_end(date(2024, 2, 29), date(2027, 6, 1)) == date(2028, 2, 29)


def test_a_profile_shows_and_makes_searchable_the_chosen_fields_alone() -> None:
    profile = Profile(
        listed=True,
        display_name="Robin Ash",
        region="Canary County",
        settings=(Setting.WARMLINE,),
        languages=("Canarese",),
        about="canary line",
        shown=frozenset({Field.DISPLAY_NAME, Field.SETTINGS}),
    )
    public = profile.public()
    assert public.display_name == "Robin Ash" and public.settings == (Setting.WARMLINE,)
    assert (public.region, public.languages, public.about) == (None, (), None)
    assert "canary" not in public.search_text().casefold()
    assert public.region_key() is None and public.language_keys() == frozenset()


def test_a_field_chosen_to_be_shown_needs_a_value() -> None:
    with pytest.raises(ShownFieldEmpty) as refused:
        Profile(listed=True, shown=frozenset({Field.ABOUT, Field.REGION})).checked()
    assert refused.value.code == "shown_field_empty"
    assert Profile().checked() == Profile()  # unlisted by default


def test_search_words_are_prefixes_and_cannot_change_the_query() -> None:
    words = terms('Rob* OR "ash" NEAR(x) -- ; DROP')
    assert words == ("rob", "or", "ash", "near", "x", "drop")
    assert sqlite_match(("rob", "ash")) == '"rob"* "ash"*'
    assert postgresql_tsquery(("rob", "ash")) == "rob:* & ash:*"
    assert terms(None) == () and terms("  ") == ()


def test_a_meeting_holds_in_its_months_and_is_checked() -> None:
    meeting = Meeting(Weekday.TUESDAY, time(13), time(15), date(2027, 3, 1), date(2027, 5, 1))
    assert meeting.checked() is meeting
    assert [meeting.held_in(date(2027, m, 1)) for m in (2, 3, 5, 6)] == [False, True, True, False]
    for bad in (
        Meeting(Weekday.TUESDAY, time(13), time(12)),
        Meeting(Weekday.TUESDAY, time(13), first_month=date(2027, 3, 2)),
        Meeting(Weekday.TUESDAY, time(13), None, date(2027, 5, 1), date(2027, 3, 1)),
    ):
        with pytest.raises(InvalidSchedule):
            bad.checked()
