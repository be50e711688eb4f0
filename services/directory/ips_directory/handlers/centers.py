"""The operators' changes to centers, groups and group types."""

from __future__ import annotations

from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import (
    CenterListing,
    DeleteCenter,
    DeleteGroup,
    DeleteGroupType,
    GetCenter,
    GroupListing,
    SaveCenter,
    SaveGroup,
    SaveGroupType,
)
from ..db import repository
from ..domain.centers import GroupType
from ..domain.errors import (
    BuiltInGroupType,
    GroupTypeInUse,
    GroupTypeNotFound,
    UnknownCenter,
    UnknownGroup,
    UnknownGroupType,
)
from .search import get_center


def save_center(message: SaveCenter, uow: UnitOfWork) -> CenterListing:
    center_id = message.center_id
    if center_id is None:
        center_id = repository.new_id()
    elif repository.center_of(uow.session, center_id) is None:
        raise UnknownCenter()
    repository.save_center(uow.session, center_id, message.center)
    uow.session.flush()
    return get_center(GetCenter(center_id), uow)


def delete_center(message: DeleteCenter, uow: UnitOfWork) -> None:
    if not repository.delete_center(uow.session, message.center_id):
        raise UnknownCenter()


def save_group(message: SaveGroup, uow: UnitOfWork) -> GroupListing:
    group = message.group.checked()
    if repository.center_of(uow.session, group.center_id) is None:
        raise UnknownCenter()
    if repository.group_type_of(uow.session, group.type_code) is None:
        raise UnknownGroupType()
    group_id = message.group_id
    if group_id is None:
        group_id = repository.new_id()
    elif repository.group_of(uow.session, group_id) is None:
        raise UnknownGroup()
    repository.save_group(uow.session, group_id, group)
    uow.session.flush()
    listing = get_center(GetCenter(group.center_id), uow)
    return next(g for g in listing.groups if g.group_id == group_id)


def delete_group(message: DeleteGroup, uow: UnitOfWork) -> None:
    if not repository.delete_group(uow.session, message.group_id):
        raise UnknownGroup()


def save_group_type(message: SaveGroupType, uow: UnitOfWork) -> GroupType:
    return repository.save_group_type(uow.session, message.code, message.label)


def delete_group_type(message: DeleteGroupType, uow: UnitOfWork) -> None:
    found = repository.group_type_of(uow.session, message.code)
    if found is None:
        raise GroupTypeNotFound()
    if found.built_in:
        raise BuiltInGroupType()
    if repository.group_type_used(uow.session, message.code):
        raise GroupTypeInUse()
    repository.delete_group_type(uow.session, message.code)
