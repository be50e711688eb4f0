"""The public's searches: listed specialists (their shown fields only), centers and
groups. Results are the same for the JSON API and a web page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import (
    CenterListing,
    CenterPage,
    CenterSummary,
    GetCenter,
    GroupListing,
    GroupPage,
    ListGroupTypes,
    SearchCenters,
    SearchGroups,
    SearchSpecialists,
    SpecialistListing,
    SpecialistPage,
)
from ..db import repository
from ..db.tables import CenterRecord
from ..domain.centers import Group, GroupType, first_of_month
from ..domain.certificates import valid_through
from ..domain.errors import UnknownCenter


def search_specialists(
    message: SearchSpecialists, uow: UnitOfWork, *, today: Callable[[], date]
) -> SpecialistPage:
    page = message.page
    found, total = repository.search_specialists(
        uow.session,
        text_query=message.text,
        region=message.region,
        setting=message.setting,
        language=message.language,
        offset=page.offset,
        limit=page.page_size,
    )
    on = today()
    items = [
        SpecialistListing(profile.public(), certificate.status, valid_through(certificate, on))
        for profile, certificate in found
    ]
    return SpecialistPage(items, total, page.page, page.page_size)


def search_centers(message: SearchCenters, uow: UnitOfWork) -> CenterPage:
    page = message.page
    found, total = repository.search_centers(
        uow.session,
        text_query=message.text,
        county=message.county,
        offset=page.offset,
        limit=page.page_size,
    )
    items = [CenterListing(center_id, center) for center_id, center in found]
    return CenterPage(items, total, page.page, page.page_size)


def search_groups(message: SearchGroups, uow: UnitOfWork) -> GroupPage:
    page = message.page
    month = first_of_month(message.month) if message.month else None
    found, total = repository.search_groups(
        uow.session,
        text_query=message.text,
        county=message.county,
        type_code=message.type_code,
        weekday=message.weekday,
        month=month,
        offset=page.offset,
        limit=page.page_size,
    )
    return GroupPage(_group_listings(found, month), total, page.page, page.page_size)


def get_center(message: GetCenter, uow: UnitOfWork) -> CenterListing:
    center = repository.center_of(uow.session, message.center_id)
    if center is None:
        raise UnknownCenter()
    groups = _group_listings(repository.groups_of_center(uow.session, message.center_id), None)
    return CenterListing(message.center_id, center, tuple(groups))


def list_group_types(message: ListGroupTypes, uow: UnitOfWork) -> list[GroupType]:
    return repository.group_types(uow.session)


def _group_listings(
    found: Sequence[tuple[str, Group, str, CenterRecord]], month: date | None
) -> list[GroupListing]:
    return [
        GroupListing(
            group_id=group_id,
            name=group.name,
            description=group.description,
            type_code=group.type_code,
            type_label=label,
            center=CenterSummary(center.center_id, center.name, center.town, center.county),
            meetings=tuple(m for m in group.meetings if month is None or m.held_in(month)),
        )
        for group_id, group, label, center in found
    ]
