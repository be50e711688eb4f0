"""The directory's persistence: every query, and the mapping between rows and the
domain's values. Full-text search is each database's own (`tables` says how)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, literal_column, text
from sqlmodel import Session, col, select

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import CertificationStatusChanged

from ..domain.centers import BUILT_IN_GROUP_TYPES, Center, Group, GroupType, Meeting, Weekday
from ..domain.certificates import LISTED, Certificate, Status
from ..domain.profiles import Field, Profile, Setting, key
from ..domain.search import postgresql_tsquery, sqlite_match, terms
from .tables import (
    SEARCH_INDEXES,
    CenterRecord,
    CertificateRecord,
    GroupRecord,
    GroupTypeRecord,
    Inbox,
    MeetingRecord,
    ProfileRecord,
    ProfileTerm,
)

SETTING, LANGUAGE = "setting", "language"

# -- certificates (the read model) -------------------------------------------------------


def _certificate(row: CertificateRecord) -> Certificate:
    return Certificate(
        person_id=row.person_id,
        status=Status(row.status),
        status_since=row.status_since,
        number=row.number,
        certified_since=row.certified_since,
        anniversary=row.anniversary,
        year_ends_on=row.year_ends_on,
        lapsed_since=row.lapsed_since,
    )


def certificate_of(session: Session, person_id: str) -> Certificate | None:
    row = session.get(CertificateRecord, person_id)
    return _certificate(row) if row else None


def certificate_numbered(session: Session, number: str) -> Certificate | None:
    row = session.exec(select(CertificateRecord).where(col(CertificateRecord.number) == number))
    found = row.first()
    return _certificate(found) if found else None


def save_certificate(
    session: Session, certificate: Certificate, event: CloudEvent[CertificationStatusChanged]
) -> None:
    row = session.get(CertificateRecord, certificate.person_id) or CertificateRecord(
        person_id=certificate.person_id,
        status=certificate.status,
        status_since=certificate.status_since,
        event_id=event.id,
        changed_at=event.time,
    )
    row.number = certificate.number
    row.status = certificate.status
    row.status_since = certificate.status_since
    row.certified_since = certificate.certified_since
    row.anniversary = certificate.anniversary
    row.year_ends_on = certificate.year_ends_on
    row.lapsed_since = certificate.lapsed_since
    row.event_id = event.id
    row.changed_at = event.time
    session.add(row)
    session.flush()  # the next event of the same person in this batch reads it


def all_certificates(session: Session) -> list[Certificate]:
    rows = session.exec(select(CertificateRecord).order_by(col(CertificateRecord.person_id)))
    return [_certificate(row) for row in rows]


def forget_certificates(session: Session, consumer: str) -> None:
    """Empty the read model and what its consumer remembers having applied (the rebuild,
    in its transaction). On PostgreSQL the table is locked first, so the live consumer
    waits for the rebuild to commit rather than write beside it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE certificate IN EXCLUSIVE MODE"))
    session.execute(delete(CertificateRecord))
    session.execute(delete(Inbox).where(col(Inbox.consumer) == consumer))


# -- profiles ----------------------------------------------------------------------------


def _profile(row: ProfileRecord) -> Profile:
    return Profile(
        listed=row.listed,
        display_name=row.display_name,
        region=row.region,
        settings=tuple(Setting(s) for s in json.loads(row.settings)),
        languages=tuple(json.loads(row.languages)),
        about=row.about,
        shown=frozenset(Field(f) for f in json.loads(row.shown)),
    )


def profile_of(session: Session, person_id: str) -> Profile | None:
    row = _profile_row(session, person_id)
    return _profile(row) if row else None


def _profile_row(session: Session, person_id: str) -> ProfileRecord | None:
    query = select(ProfileRecord).where(col(ProfileRecord.person_id) == person_id)
    return session.exec(query).first()


def save_profile(
    session: Session, person_id: str, profile: Profile, *, by: str, at: datetime
) -> None:
    """Store the profile; what public search may use of it is its shown part alone."""
    row = _profile_row(session, person_id) or ProfileRecord(
        person_id=person_id, changed_at=at, changed_by=by
    )
    public = profile.public()
    row.listed = profile.listed
    row.display_name = profile.display_name
    row.region = profile.region
    row.settings = json.dumps([str(s) for s in profile.settings])
    row.languages = json.dumps(list(profile.languages))
    row.about = profile.about
    row.shown = json.dumps(sorted(str(f) for f in profile.shown))
    row.search_text = public.search_text()
    row.region_key = public.region_key()
    row.name_key = key(public.display_name) if public.display_name else None
    row.changed_at = at
    row.changed_by = by
    session.add(row)
    session.flush()
    assert row.id is not None
    session.execute(delete(ProfileTerm).where(col(ProfileTerm.profile_id) == row.id))
    terms_shown = {(SETTING, str(s)) for s in public.settings} | {
        (LANGUAGE, language) for language in public.language_keys()
    }
    for kind, value in sorted(terms_shown):
        session.add(ProfileTerm(profile_id=row.id, kind=kind, value=value[:40]))


def _listable() -> ColumnElement[bool]:
    return (
        col(ProfileRecord.listed).is_(True)
        & col(CertificateRecord.status).in_([str(s) for s in LISTED])
        & col(CertificateRecord.number).is_not(None)
    )


def appears(session: Session, person_id: str) -> bool:
    query = (
        select(ProfileRecord.id)
        .join(CertificateRecord, col(CertificateRecord.person_id) == col(ProfileRecord.person_id))
        .where(col(ProfileRecord.person_id) == person_id, _listable())
    )
    return session.exec(query).first() is not None


def _full_text(
    session: Session, query: Select[Any], table: Any, words: tuple[str, ...]
) -> tuple[Select[Any], ColumnElement[Any] | None]:
    """`query` narrowed to rows of `table` matching every word (as prefixes), and the
    expression ranking them best first (None without words)."""
    if not words:
        return query, None
    name = table.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        vector = func.to_tsvector(literal_column("'simple'"), table.search_text)
        wanted = func.to_tsquery(literal_column("'simple'"), postgresql_tsquery(words))
        return query.where(vector.op("@@")(wanted)), func.ts_rank(vector, wanted).desc()
    fts = SEARCH_INDEXES[name]
    # Materialized: the match runs once. As a plain subquery SQLite may run it again for
    # every row the other filters leave (a county with thousands of listings).
    hits = (
        select(literal_column("rowid").label("hit_id"), literal_column("rank").label("hit_rank"))
        .select_from(text(fts))
        .where(text(f"{fts} MATCH :match").bindparams(match=sqlite_match(words)))
        .cte(f"{fts}_hits")
        .prefix_with("MATERIALIZED")
    )
    return query.join(hits, hits.c.hit_id == table.id), hits.c.hit_rank.asc()


def _counted(session: Session, query: Select[Any]) -> int:
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())  # type: ignore[call-overload]


def search_specialists(
    session: Session,
    *,
    text_query: str | None,
    region: str | None,
    setting: Setting | None,
    language: str | None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[Profile, Certificate]], int]:
    query = (
        select(ProfileRecord, CertificateRecord)
        .join(CertificateRecord, col(CertificateRecord.person_id) == col(ProfileRecord.person_id))
        .where(_listable())
    )
    if region:
        query = query.where(col(ProfileRecord.region_key) == key(region))
    for kind, value in (
        (SETTING, setting and str(setting)),
        (LANGUAGE, language and key(language)),
    ):
        if value:
            query = query.where(
                exists().where(
                    col(ProfileTerm.profile_id) == col(ProfileRecord.id),
                    col(ProfileTerm.kind) == kind,
                    col(ProfileTerm.value) == value,
                )
            )
    query, rank = _full_text(session, query, ProfileRecord, terms(text_query))
    total = _counted(session, query)
    order = [col(ProfileRecord.name_key).asc().nulls_last(), col(ProfileRecord.id)]
    found = session.exec(
        query.order_by(*([rank] if rank is not None else []), *order).offset(offset).limit(limit)  # type: ignore[call-overload]
    ).all()
    return [(_profile(p), _certificate(c)) for p, c in found], total


# -- centers, groups, group types --------------------------------------------------------


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def _center(row: CenterRecord) -> Center:
    return Center(
        name=row.name,
        town=row.town,
        county=row.county,
        opening_hours=row.opening_hours,
        rooms=tuple(json.loads(row.rooms)),
        ages_served=row.ages_served,
        no_referral_or_insurance_needed=row.no_referral_or_insurance_needed,
    )


def _center_row(session: Session, center_id: str) -> CenterRecord | None:
    query = select(CenterRecord).where(col(CenterRecord.center_id) == center_id)
    return session.exec(query).first()


def center_of(session: Session, center_id: str) -> Center | None:
    row = _center_row(session, center_id)
    return _center(row) if row else None


def save_center(session: Session, center_id: str, center: Center) -> None:
    row = _center_row(session, center_id) or CenterRecord(
        center_id=center_id,
        name=center.name,
        town=center.town,
        county=center.county,
        county_key=key(center.county),
        opening_hours=center.opening_hours,
        ages_served=center.ages_served,
    )
    row.name, row.town, row.county = center.name, center.town, center.county
    row.county_key = key(center.county)
    row.opening_hours = center.opening_hours
    row.rooms = json.dumps(list(center.rooms))
    row.ages_served = center.ages_served
    row.no_referral_or_insurance_needed = center.no_referral_or_insurance_needed
    row.search_text = center.search_text()
    session.add(row)
    session.flush()
    # A group is found by its center's name and town too.
    for group in session.exec(select(GroupRecord).where(col(GroupRecord.center_id) == center_id)):
        group.search_text = _group_text(session, group)
        session.add(group)


def delete_center(session: Session, center_id: str) -> bool:
    row = _center_row(session, center_id)
    if row is None:
        return False
    groups = select(GroupRecord.group_id).where(col(GroupRecord.center_id) == center_id)
    session.execute(delete(MeetingRecord).where(col(MeetingRecord.group_id).in_(groups)))
    session.execute(delete(GroupRecord).where(col(GroupRecord.center_id) == center_id))
    session.delete(row)
    return True


def group_types(session: Session) -> list[GroupType]:
    rows = session.exec(select(GroupTypeRecord).order_by(col(GroupTypeRecord.label)))
    return [GroupType(row.code, row.label, row.built_in) for row in rows]


def group_type_of(session: Session, code: str) -> GroupType | None:
    row = session.get(GroupTypeRecord, code)
    return GroupType(row.code, row.label, row.built_in) if row else None


def save_group_type(session: Session, code: str, label: str) -> GroupType:
    row = session.get(GroupTypeRecord, code) or GroupTypeRecord(
        code=code, label=label, built_in=code in BUILT_IN_GROUP_TYPES
    )
    row.label = label
    session.add(row)
    session.flush()
    for group in session.exec(select(GroupRecord).where(col(GroupRecord.type_code) == code)):
        group.search_text = _group_text(session, group)
        session.add(group)
    return GroupType(row.code, row.label, row.built_in)


def group_type_used(session: Session, code: str) -> bool:
    query = select(GroupRecord.id).where(col(GroupRecord.type_code) == code)
    return session.exec(query.limit(1)).first() is not None


def delete_group_type(session: Session, code: str) -> None:
    session.execute(delete(GroupTypeRecord).where(col(GroupTypeRecord.code) == code))


def _group_row(session: Session, group_id: str) -> GroupRecord | None:
    return session.exec(select(GroupRecord).where(col(GroupRecord.group_id) == group_id)).first()


def group_of(session: Session, group_id: str) -> Group | None:
    row = _group_row(session, group_id)
    if row is None:
        return None
    return Group(
        row.center_id,
        row.type_code,
        row.name,
        row.description,
        _meetings(session, [row])[row.group_id],
    )


def _group_text(session: Session, row: GroupRecord) -> str:
    center = _center_row(session, row.center_id)
    kind = session.get(GroupTypeRecord, row.type_code)
    parts = (
        row.name,
        row.description,
        kind.label if kind else "",
        *((center.name, center.town) if center else ()),
    )
    return " ".join(part for part in parts if part)


def save_group(session: Session, group_id: str, group: Group) -> None:
    row = _group_row(session, group_id) or GroupRecord(
        group_id=group_id, center_id=group.center_id, type_code=group.type_code, name=group.name
    )
    row.center_id, row.type_code = group.center_id, group.type_code
    row.name, row.description = group.name, group.description
    row.search_text = _group_text(session, row)
    session.add(row)
    session.flush()
    session.execute(delete(MeetingRecord).where(col(MeetingRecord.group_id) == group_id))
    for position, meeting in enumerate(group.meetings):
        session.add(
            MeetingRecord(
                group_id=group_id,
                position=position,
                weekday=meeting.weekday,
                starts_at=meeting.starts_at,
                ends_at=meeting.ends_at,
                first_month=meeting.first_month,
                last_month=meeting.last_month,
            )
        )


def delete_group(session: Session, group_id: str) -> bool:
    row = _group_row(session, group_id)
    if row is None:
        return False
    session.execute(delete(MeetingRecord).where(col(MeetingRecord.group_id) == group_id))
    session.delete(row)
    return True


def _meetings(session: Session, rows: Sequence[GroupRecord]) -> dict[str, tuple[Meeting, ...]]:
    ids = [row.group_id for row in rows]
    found: dict[str, list[Meeting]] = {group_id: [] for group_id in ids}
    if ids:
        query = (
            select(MeetingRecord)
            .where(col(MeetingRecord.group_id).in_(ids))
            .order_by(col(MeetingRecord.group_id), col(MeetingRecord.position))
        )
        for m in session.exec(query):
            found[m.group_id].append(
                Meeting(Weekday(m.weekday), m.starts_at, m.ends_at, m.first_month, m.last_month)
            )
    return {group_id: tuple(meetings) for group_id, meetings in found.items()}


def _groups_found(
    session: Session, rows: Sequence[Any]
) -> list[tuple[str, Group, str, CenterRecord]]:
    groups = [row[0] for row in rows]
    meetings = _meetings(session, groups)
    return [
        (
            g.group_id,
            Group(g.center_id, g.type_code, g.name, g.description, meetings[g.group_id]),
            label,
            center,
        )
        for g, label, center in rows
    ]


def groups_of_center(
    session: Session, center_id: str
) -> list[tuple[str, Group, str, CenterRecord]]:
    query = (
        select(GroupRecord, GroupTypeRecord.label, CenterRecord)
        .join(GroupTypeRecord, col(GroupTypeRecord.code) == col(GroupRecord.type_code))
        .join(CenterRecord, col(CenterRecord.center_id) == col(GroupRecord.center_id))
        .where(col(GroupRecord.center_id) == center_id)
        .order_by(col(GroupRecord.name), col(GroupRecord.id))
    )
    return _groups_found(session, session.exec(query).all())  # type: ignore[arg-type]


def search_centers(
    session: Session, *, text_query: str | None, county: str | None, offset: int, limit: int
) -> tuple[list[tuple[str, Center]], int]:
    query = select(CenterRecord)
    if county:
        query = query.where(col(CenterRecord.county_key) == key(county))
    query, rank = _full_text(session, query, CenterRecord, terms(text_query))
    total = _counted(session, query)
    order = [*([rank] if rank is not None else []), col(CenterRecord.name), col(CenterRecord.id)]
    rows = session.exec(query.order_by(*order).offset(offset).limit(limit)).all()  # type: ignore[call-overload]
    return [(row.center_id, _center(row)) for row in rows], total


def search_groups(
    session: Session,
    *,
    text_query: str | None,
    county: str | None,
    type_code: str | None,
    weekday: str | None,
    month: date | None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[str, Group, str, CenterRecord]], int]:
    query = (
        select(GroupRecord, GroupTypeRecord.label, CenterRecord)
        .join(GroupTypeRecord, col(GroupTypeRecord.code) == col(GroupRecord.type_code))
        .join(CenterRecord, col(CenterRecord.center_id) == col(GroupRecord.center_id))
    )
    if county:
        query = query.where(col(CenterRecord.county_key) == key(county))
    if type_code:
        query = query.where(col(GroupRecord.type_code) == type_code)
    if weekday or month:
        meeting = exists().where(col(MeetingRecord.group_id) == col(GroupRecord.group_id))
        if weekday:
            meeting = meeting.where(col(MeetingRecord.weekday) == weekday)
        if month:
            meeting = meeting.where(
                (col(MeetingRecord.first_month).is_(None))
                | (col(MeetingRecord.first_month) <= month),
                (col(MeetingRecord.last_month).is_(None))
                | (col(MeetingRecord.last_month) >= month),
            )
        query = query.where(meeting)
    query, rank = _full_text(session, query, GroupRecord, terms(text_query))
    total = _counted(session, query)
    order = [
        *([rank] if rank is not None else []),
        col(CenterRecord.town),
        col(CenterRecord.name),
        col(GroupRecord.name),
        col(GroupRecord.id),
    ]
    rows = session.exec(query.order_by(*order).offset(offset).limit(limit)).all()  # type: ignore[call-overload]
    return _groups_found(session, rows), total
