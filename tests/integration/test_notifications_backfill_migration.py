"""Migration 0006 of notifications fills who completed Peer Support 101 (and whether they
applied since) and who is in which cohort from the notifications recorded before it, on
SQLite and PostgreSQL; and can be undone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from .test_event_identity_migration import migrate_to, run

AT = datetime(2026, 11, 30, 12, tzinfo=UTC)


def notified(database_url: str, person: str, reason: str, occasion: str, **details: str) -> None:
    run(
        database_url,
        "INSERT INTO due_notification (person_id, reason, occasion, caused_by, due_at,"
        " correlation_id, details, state, attempts) VALUES (:person, :reason, :occasion,"
        " :cause, :at, :cause, :details, 'delivered', 1)",
        person=person,
        reason=reason,
        occasion=occasion,
        cause=f"e-{person}-{reason}",
        at=AT,
        details=json.dumps(details),
    )


def test_graduates_and_cohort_members_come_from_earlier_notifications(database_url: str) -> None:
    migrate_to(database_url, "notifications", "0005")
    notified(database_url, "g-1", "ps101_completed", "s-1")  # has not applied
    notified(database_url, "g-2", "ps101_completed", "s-1")
    notified(database_url, "g-2", "application_received", "a-2", intake="2027-spring")
    notified(database_url, "g-2", "application_accepted", "a-2", cohort_id="2027-spring")
    notified(database_url, "g-3", "application_received", "a-3", intake="2027-spring")
    notified(database_url, "g-3", "application_accepted", "a-3", cohort_id="2027-spring")
    notified(database_url, "g-3", "application_withdrawn", "a-3", intake="2027-spring")

    migrate_to(database_url, "notifications", "head")

    graduates = run(
        database_url,
        "SELECT person_id, completed_on, applied, event_id FROM graduate ORDER BY person_id",
    )
    assert [(p, str(on) if on else None, bool(a), e) for p, on, a, e in graduates] == [
        ("g-1", str(date(2026, 11, 30)), False, "e-g-1-ps101_completed"),
        ("g-2", str(date(2026, 11, 30)), True, "e-g-2-ps101_completed"),
        ("g-3", None, True, None),
    ]
    members = run(database_url, "SELECT application_id, person_id, cohort_id FROM cohort_member")
    assert members == [("a-2", "g-2", "2027-spring")]  # a-3 was withdrawn

    migrate_to(database_url, "notifications", "0005", down=True)
    migrate_to(database_url, "notifications", "head")
