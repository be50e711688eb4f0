"""Notifications' rules without I/O: who gets what (the one table), the messages' wording
and what they must never show, the channel, quiet hours, retries and identities."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from ips_notifications import messages
from ips_notifications.domain import reminders, rules
from ips_notifications.domain.delivery import (
    Contact,
    Failure,
    QuietHours,
    Route,
    expired,
    retry_at,
    route,
)
from ips_notifications.domain.preferences import Preferences
from ips_notifications.domain.reasons import Reason, message_id, notification_key
from ips_shared.contracts.envelope import EventPayload
from ips_shared.contracts.events import (
    CATALOGUE,
    ApplicationAccepted,
    ApplicationDeclined,
    ApplicationSubmitted,
    ApplicationWaitlisted,
    ApplicationWithdrawn,
    CertificationStatus,
    CertificationStatusChanged,
    Channel,
    CohortScheduled,
    HoursLogged,
    HoursRejected,
    Language,
    NotificationDelivered,
    NotificationFailed,
    PeerSupport101Completed,
    ReviewCompleted,
    ReviewDue,
    Shortfall,
    TrainingCompleted,
    TrainingDayAttended,
    Transport,
)

NEW_YORK = ZoneInfo("America/New_York")
CANARY = "CANARY"


def status_change(new: CertificationStatus, reason_code: str, **extra: Any) -> Any:
    return CertificationStatusChanged(
        person_id="p-1",
        old_status=CertificationStatus.TRAINED,
        new_status=new,
        reason_code=reason_code,
        effective_date=date(2027, 5, 1),
        policy_version="2026-1",
        **extra,
    )


# -- the table ---------------------------------------------------------------------------


def test_every_event_of_the_catalogue_either_notifies_or_is_listed_as_silent() -> None:
    assert rules.uncovered_events() == set()
    assert not set(rules.notifying_events()) & set(rules.SILENT)
    assert set(CATALOGUE) == set(rules.notifying_events()) | set(rules.SILENT)


@pytest.mark.parametrize(
    ("event", "reason", "occasion", "details"),
    [
        (
            PeerSupport101Completed(
                person_id="p-1", session_id="s-1", completed_on=date(2027, 1, 5)
            ),
            Reason.PS101_COMPLETED,
            "s-1",
            {},
        ),
        (
            ApplicationSubmitted(
                application_id="a-1",
                person_id="p-1",
                intake="2027-spring",
                submitted_at=datetime(2027, 1, 6, tzinfo=UTC),
                transport=Transport.NEEDS_RIDE,
            ),
            Reason.APPLICATION_RECEIVED,
            "a-1",
            {"intake": "2027-spring"},
        ),
        (
            ApplicationAccepted(
                application_id="a-1", person_id="p-1", intake="2027-spring", cohort_id="2027-spring"
            ),
            Reason.APPLICATION_ACCEPTED,
            "a-1",
            {"cohort_id": "2027-spring"},
        ),
        (
            ApplicationWaitlisted(
                application_id="a-1", person_id="p-1", intake="2027-spring", position=3
            ),
            Reason.APPLICATION_WAITLISTED,
            "a-1",
            {"intake": "2027-spring", "position": "3"},
        ),
        (
            ApplicationDeclined(
                application_id="a-1", person_id="p-1", intake="2027-spring", reason_code="x"
            ),
            Reason.APPLICATION_DECLINED,
            "a-1",
            {"intake": "2027-spring"},
        ),
        (
            ApplicationWithdrawn(application_id="a-1", person_id="p-1", intake="2027-spring"),
            Reason.APPLICATION_WITHDRAWN,
            "a-1",
            {"intake": "2027-spring"},
        ),
        (
            TrainingCompleted(
                person_id="p-1", cohort_id="2027-spring", completed_on=date(2027, 4, 1)
            ),
            Reason.TRAINING_COMPLETED,
            "2027-spring",
            {},
        ),
        (
            ReviewDue(person_id="p-1", due_date=date(2028, 4, 1)),
            Reason.REVIEW_DUE,
            "2028-04-01",
            {"due_date": "2028-04-01"},
        ),
        (
            status_change(CertificationStatus.AT_RISK, "hours_short_near_year_end"),
            Reason.AT_RISK,
            "at_risk:2027-05-01",
            {},
        ),
        (
            status_change(CertificationStatus.LAPSED, "year_ended_unmet"),
            Reason.LAPSED,
            "lapsed:2027-05-01",
            {},
        ),
        (
            status_change(
                CertificationStatus.CERTIFIED, "first_year_met", certificate_number="ME-2027-0001"
            ),
            Reason.CERTIFIED,
            "first",
            {"certificate_number": "ME-2027-0001"},
        ),
        (
            status_change(CertificationStatus.CERTIFIED, "reinstated"),
            Reason.REINSTATED,
            "certified:2027-05-01",
            {},
        ),
        (
            status_change(CertificationStatus.CERTIFIED, "operator_reinstated"),
            Reason.REINSTATED,
            "certified:2027-05-01",
            {},
        ),
    ],
)
def test_an_event_makes_its_notification_due(
    event: EventPayload, reason: Reason, occasion: str, details: dict[str, str]
) -> None:
    notice = rules.notice_for(event)
    assert notice is not None
    assert (notice.person_id, notice.reason, notice.occasion) == ("p-1", reason, occasion)
    assert dict(notice.details) == details


@pytest.mark.parametrize(
    "event",
    [
        TrainingDayAttended(
            person_id="p-1", cohort_id="2027-spring", day=3, attended_on=date(2027, 3, 3)
        ),
        CohortScheduled.model_validate(
            {
                "cohort_id": "2027-spring",
                "place": "Augusta",
                "days": [
                    {
                        "day": 1,
                        "starts_at": "2027-03-01T09:00:00-05:00",
                        "ends_at": "2027-03-01T16:00:00-05:00",
                    }
                ],
            }
        ),
        HoursLogged.model_validate(
            {
                "person_id": "p-1",
                "category": "skill_building",
                "hours": "2",
                "activity_date": "2027-03-01",
            }
        ),
        HoursRejected(rejected_event_id="e-1", reason_code="future_date", reason="x"),
        ReviewCompleted(person_id="p-1", reviewed_on=date(2027, 3, 1), outcome="affirmed"),
        NotificationDelivered(
            notification_id="n-1",
            person_id="p-1",
            reason="at_risk",
            channel=Channel.EMAIL,
            delivered_at=datetime(2027, 1, 1, tzinfo=UTC),
        ),
        NotificationFailed(
            notification_id="n-1",
            person_id="p-1",
            reason="at_risk",
            channel=Channel.EMAIL,
            failure_code="smtp_550",
            final=True,
        ),
        status_change(CertificationStatus.TRAINED, "training_completed"),
        status_change(CertificationStatus.SUSPENDED, "operator_suspended"),
        status_change(CertificationStatus.WITHDRAWN, "operator_withdrew"),
        status_change(CertificationStatus.CERTIFIED, "certificate_imported"),
        status_change(CertificationStatus.CERTIFIED, "requirements_met"),
    ],
    ids=lambda e: f"{type(e).__name__}:{getattr(e, 'new_status', '')}",
)
def test_events_that_must_not_notify_make_nothing_due(event: EventPayload) -> None:
    assert rules.notice_for(event) is None


def test_nobody_may_opt_out_of_news_about_their_certification_status() -> None:
    for rule in rules.RULES:
        if rule.event in (CertificationStatusChanged, ReviewDue):
            assert rule.may_opt_out is False, rule.reason
    reasons = [rule.reason for rule in (*rules.RULES, *rules.REMINDERS)]
    assert sorted(reasons) == sorted(Reason)  # one rule per reason


# -- the messages ---------------------------------------------------------------------------


def test_there_is_one_template_per_reason_and_language() -> None:
    assert messages.templates() == sorted(
        f"{language}/{reason}" for language in Language for reason in Reason
    )


def _canary_value(name: str, annotation: Any) -> Any:
    """A value for a field that shows itself if it leaks: a canary string where the
    contract allows free text, something plain elsewhere."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _canary_value(name, args[0])
    if origin in (typing.Union, type(int | None)):
        return _canary_value(name, next(a for a in args if a is not type(None)))
    if origin is tuple:
        return (_canary_value(name, args[0]),) if args and args[0] is str else ()
    if annotation is str:
        return f"{CANARY}-{name}"
    if annotation is bool:
        return False
    if annotation is int:
        return 7
    if annotation is date:
        return date(2027, 6, 30)
    if annotation is Decimal:
        return Decimal("1.5")
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    return None


def canary_event(rule: rules.Rule) -> EventPayload:
    model = rule.event
    hints = typing.get_type_hints(model, include_extras=True)
    values: dict[str, Any] = {}
    for name in model.model_fields:
        value = _canary_value(name, hints[name])
        if value is not None:
            values[name] = value
    values.update(
        {
            key: value
            for key, value in {
                "intake": "2027-spring",
                "submitted_at": datetime(2027, 1, 6, tzinfo=UTC),
                "position": 4,
            }.items()
            if key in model.model_fields
        }
    )
    if model is CertificationStatusChanged:
        values["new_status"] = {
            Reason.AT_RISK: CertificationStatus.AT_RISK,
            Reason.LAPSED: CertificationStatus.LAPSED,
        }.get(rule.reason, CertificationStatus.CERTIFIED)
        values["reason_code"] = {
            Reason.CERTIFIED: "first_year_met",
            Reason.REINSTATED: "reinstated",
        }.get(rule.reason, f"{CANARY}-reason_code")
        values["certificate_number"] = "ME-2027-0042"
    event = model.model_validate(values)
    assert isinstance(event, BaseModel)
    return event


SAID_IN_WORDS = {"category"}  # an hours category's code: each template names it in words


@pytest.mark.parametrize("rule", rules.RULES, ids=lambda r: str(r.reason))
@pytest.mark.parametrize("language", list(Language))
def test_a_message_shows_only_what_its_rule_picked_and_points_to_help(
    rule: rules.Rule, language: Language
) -> None:
    event = canary_event(rule)
    notice = rules.notice_for(event)
    assert notice is not None and notice.reason == rule.reason
    rendered = messages.render(
        rule.reason,
        language,
        name="Sam",
        details=notice.details,
        portal_url="https://ips.example.org",
        help_contact="the OBH peer support team",
        may_opt_out=rule.may_opt_out,
    )
    shown = set(notice.details.values())
    for key, value in notice.details.items():  # what the rule picked is said
        if key in SAID_IN_WORDS:  # a code: in the language's words, never as the code
            assert value not in rendered.body
        else:
            assert value in rendered.body
    for part in (rendered.subject, rendered.body, rendered.text):
        for value in shown:
            part = part.replace(value, "")
        assert CANARY not in part  # and nothing else of the event
        assert "None" not in part
        for word in ("diagnos", "substance", "overdose", "relapse", "reason_code", "unmet"):
            assert word not in part.lower()
    assert "Sam" in rendered.body
    assert "https://ips.example.org" in rendered.body and "https://ips.example.org" in rendered.text
    assert "the OBH peer support team" in rendered.body
    assert rendered.subject and len(rendered.text) <= 320


def test_the_greeting_survives_a_missing_name_and_spanish_speaks_spanish() -> None:
    rendered = messages.render(
        "review_due",
        "es",
        name="",
        details={"due_date": "2028-04-01"},
        portal_url="https://x.example",
        help_contact="el equipo",
        may_opt_out=False,
    )
    assert rendered.body.startswith("Hola:")
    assert "revisión" in rendered.body and "2028-04-01" in rendered.text


# -- channel, quiet hours, retries, identity ---------------------------------------------


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (Contact("p", email="a@b.c"), Route(Channel.EMAIL, "a@b.c")),
        (
            Contact("p", email="a@b.c", phone="+12075550100", preferred_channel=Channel.SMS),
            Route(Channel.EMAIL, "a@b.c"),  # no consent: email
        ),
        (
            Contact("p", email="a@b.c", phone="+12075550100", sms_consent=True),
            Route(Channel.EMAIL, "a@b.c"),  # consent, but email preferred
        ),
        (
            Contact(
                "p",
                email="a@b.c",
                phone="+12075550100",
                preferred_channel=Channel.SMS,
                sms_consent=True,
            ),
            Route(Channel.SMS, "+12075550100"),
        ),
        (Contact("p", phone="+12075550100", preferred_channel=Channel.SMS), Failure.NO_ADDRESS),
        (Contact("p"), Failure.NO_ADDRESS),
        (Contact("p", erased=True), Failure.CONTACT_ERASED),
    ],
)
def test_a_text_goes_only_to_who_chose_texts_and_consented(
    contact: Contact, expected: Route | Failure
) -> None:
    assert route(contact) == expected


def test_without_a_text_provider_texts_go_by_email() -> None:
    contact = Contact(
        "p", email="a@b.c", phone="+12075550100", preferred_channel=Channel.SMS, sms_consent=True
    )
    assert route(contact, sms_available=False) == Route(Channel.EMAIL, "a@b.c")


@pytest.mark.parametrize(
    ("local", "allowed"),
    [
        (datetime(2027, 3, 1, 12, 0), datetime(2027, 3, 1, 12, 0)),
        (datetime(2027, 3, 1, 20, 59), datetime(2027, 3, 1, 20, 59)),
        (datetime(2027, 3, 1, 21, 0), datetime(2027, 3, 2, 8, 0)),
        (datetime(2027, 3, 1, 23, 30), datetime(2027, 3, 2, 8, 0)),
        (datetime(2027, 3, 2, 0, 15), datetime(2027, 3, 2, 8, 0)),
        (datetime(2027, 3, 2, 7, 59), datetime(2027, 3, 2, 8, 0)),
        (datetime(2027, 3, 2, 8, 0), datetime(2027, 3, 2, 8, 0)),
        # The night the clocks spring forward: still 08:00 local.
        (datetime(2027, 3, 13, 22, 0), datetime(2027, 3, 14, 8, 0)),
    ],
)
def test_no_texts_during_quiet_hours_held_until_morning(local: datetime, allowed: datetime) -> None:
    quiet = QuietHours(NEW_YORK)
    moment = local.replace(tzinfo=NEW_YORK).astimezone(UTC)
    found = quiet.next_allowed(moment)
    assert found.astimezone(NEW_YORK).replace(tzinfo=None) == allowed


def test_quiet_hours_within_one_day_and_none() -> None:
    quiet = QuietHours(NEW_YORK, start=time(12, 0), end=time(13, 0))
    noon = datetime(2027, 3, 1, 12, 30, tzinfo=NEW_YORK)
    assert quiet.next_allowed(noon) == datetime(2027, 3, 1, 13, 0, tzinfo=NEW_YORK)
    never = QuietHours(NEW_YORK, start=time(8, 0), end=time(8, 0))
    assert never.next_allowed(noon) == noon


def test_retries_back_off_and_the_last_delay_repeats() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    delays = (60.0, 300.0)
    assert retry_at(now, 1, delays) == now + timedelta(seconds=60)
    assert retry_at(now, 2, delays) == now + timedelta(seconds=300)
    assert retry_at(now, 9, delays) == now + timedelta(seconds=300)
    assert expired(now, now + timedelta(days=15), timedelta(days=14))
    assert not expired(now, now + timedelta(days=13), timedelta(days=14))


def test_a_notification_is_named_by_its_identity_alone() -> None:
    key = notification_key("p-1", "at_risk", "at_risk:2027-05-01")
    assert key == notification_key("p-1", "at_risk", "at_risk:2027-05-01")
    assert key != notification_key("p-1", "at_risk", "at_risk:2028-05-01")
    assert key != notification_key("p-2", "at_risk", "at_risk:2027-05-01")
    assert len(key) == 32
    mid = message_id(key, "IPS Peer Support <no-reply@ips.example.org>")
    assert mid == f"<notification-{key}@ips.example.org>"
    assert message_id(key, "plain@example.net") == f"<notification-{key}@example.net>"


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (Language.ENGLISH, "You still need 15 hours, dated before 2028-03-10."),
        (Language.SPANISH, "Aún le faltan 15 horas, con fecha anterior al 2028-03-10."),
    ],
)
def test_someone_short_of_hours_is_told_how_many_and_by_when(
    language: Language, sentence: str
) -> None:
    event = status_change(
        CertificationStatus.AT_RISK,
        "hours_short_near_year_end",
        shortfall=(
            Shortfall(requirement="continuing_education", missing=Decimal("3"), unit="hours"),
            Shortfall(requirement="skill_building", missing=Decimal("12.00"), unit="hours"),
        ),
        year_ends_on=date(2028, 3, 10),
    )
    notice = rules.notice_for(event)
    assert notice is not None and notice.reason == Reason.AT_RISK
    rendered = messages.render(
        notice.reason,
        language,
        name="Sam",
        details=notice.details,
        portal_url="https://ips.example.org",
        help_contact="the team",
        may_opt_out=False,
    )
    assert sentence in rendered.body
    assert "15" not in rendered.text  # a text says only where to sign in


def test_at_risk_for_a_review_says_no_hours() -> None:
    notice = rules.notice_for(status_change(CertificationStatus.AT_RISK, "review_overdue"))
    assert notice is not None and notice.details == {}


# -- a person's preferences ------------------------------------------------------------


def test_without_preferences_the_contact_and_the_program_decide() -> None:
    default = QuietHours(NEW_YORK)
    chosen = Preferences()
    spanish = Contact("p-1", email="a@example.org", language=Language.SPANISH)
    assert chosen.language_for(spanish) == Language.SPANISH
    assert chosen.quiet_hours_or(default) is default
    assert not chosen.opted_out_of(may_opt_out=True)


def test_a_chosen_language_wins_over_the_contacts() -> None:
    english = Contact("p-1", email="a@example.org", language=Language.ENGLISH)
    assert Preferences(language=Language.SPANISH).language_for(english) == Language.SPANISH


def test_a_persons_quiet_hours_replace_the_programs_for_texts() -> None:
    mine = Preferences(quiet_hours=(time(19, 0), time(10, 0))).quiet_hours_or(QuietHours(NEW_YORK))
    assert mine.zone == NEW_YORK and (mine.start, mine.end) == (time(19, 0), time(10, 0))
    evening = datetime(2027, 3, 1, 19, 30, tzinfo=NEW_YORK)  # allowed by the program's
    assert mine.next_allowed(evening) == datetime(2027, 3, 2, 10, 0, tzinfo=NEW_YORK)
    morning = datetime(2027, 3, 2, 10, 0, tzinfo=NEW_YORK)
    assert mine.next_allowed(morning) == morning


def test_opting_out_of_reminders_never_covers_application_or_status_news() -> None:
    out = Preferences(reminders=False)
    for rule in rules.RULES:
        assert out.opted_out_of(may_opt_out=rule.may_opt_out) == rule.may_opt_out
    skipped = {
        rule.reason for rule in rules.RULES if out.opted_out_of(may_opt_out=rule.may_opt_out)
    }
    assert skipped == {Reason.PS101_COMPLETED, Reason.TRAINING_COMPLETED}
    assert not skipped & {
        Reason.AT_RISK,
        Reason.LAPSED,
        Reason.CERTIFIED,
        Reason.REINSTATED,
        Reason.REVIEW_DUE,
        Reason.APPLICATION_ACCEPTED,
    }


# -- training reminders ------------------------------------------------------------------


def training_day(starts_at: datetime, day: int = 3) -> reminders.ScheduledDay:
    return reminders.ScheduledDay("2027-spring", day, starts_at, "Augusta Civic Center")


def test_a_training_day_is_reminded_of_the_local_day_before_until_it_starts() -> None:
    # Day 3 at 09:00 in New York on the Monday after the clocks went forward.
    day = training_day(datetime(2027, 3, 15, 9, 0, tzinfo=NEW_YORK))
    assert reminders.remind_on(day, NEW_YORK) == date(2027, 3, 14)
    assert reminders.occasion(day, NEW_YORK) == "2027-spring:3:2027-03-15"
    late_saturday = datetime(2027, 3, 13, 23, 59, tzinfo=NEW_YORK)
    sunday = datetime(2027, 3, 14, 0, 0, tzinfo=NEW_YORK)
    assert not reminders.is_due(day, late_saturday, NEW_YORK)
    assert reminders.is_due(day, sunday, NEW_YORK)
    assert reminders.is_due(day, datetime(2027, 3, 15, 8, 59, tzinfo=NEW_YORK), NEW_YORK)
    assert not reminders.is_due(day, datetime(2027, 3, 15, 9, 0, tzinfo=NEW_YORK), NEW_YORK)


def test_a_day_starting_just_after_midnight_utc_is_still_its_local_date() -> None:
    day = training_day(datetime(2027, 3, 16, 0, 30, tzinfo=UTC))  # 20:30 on the 15th locally
    assert reminders.occasion(day, NEW_YORK) == "2027-spring:3:2027-03-15"


def test_a_moved_day_is_a_new_occasion_and_the_same_day_the_same_one() -> None:
    first = training_day(datetime(2027, 3, 15, 9, 0, tzinfo=NEW_YORK))
    later_that_day = training_day(datetime(2027, 3, 15, 13, 0, tzinfo=NEW_YORK))
    moved = training_day(datetime(2027, 3, 22, 9, 0, tzinfo=NEW_YORK))
    assert reminders.occasion(first, NEW_YORK) == reminders.occasion(later_that_day, NEW_YORK)
    assert reminders.occasion(first, NEW_YORK) != reminders.occasion(moved, NEW_YORK)


@pytest.mark.parametrize("language", list(Language))
def test_a_reminder_says_when_and_where_and_may_be_opted_out_of(language: Language) -> None:
    notice = reminders.reminder(
        "p-1", training_day(datetime(2027, 3, 15, 9, 30, tzinfo=NEW_YORK)), NEW_YORK
    )
    assert (notice.person_id, notice.reason) == ("p-1", Reason.TRAINING_REMINDER)
    assert dict(notice.details) == {
        "cohort_id": "2027-spring",
        "day": "3",
        "date": "2027-03-15",
        "starts_at": "09:30",
        "place": "Augusta Civic Center",
    }
    rule = rules.rule_for(Reason.TRAINING_REMINDER)
    assert rule.may_opt_out is True
    rendered = messages.render(
        Reason.TRAINING_REMINDER,
        language,
        name="Sam",
        details=notice.details,
        portal_url="https://ips.example.org",
        help_contact="the OBH peer support team",
        may_opt_out=rule.may_opt_out,
    )
    for value in notice.details.values():
        assert value in rendered.body
    assert "2027-03-15" in rendered.text and "09:30" in rendered.text
    assert "https://ips.example.org" in rendered.text and len(rendered.text) <= 320
    assert "None" not in rendered.body and "the OBH peer support team" in rendered.body
