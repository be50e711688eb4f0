"""A person's preferences: read and set, by the person or an operator."""

from __future__ import annotations

from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import GetPreferences, SetPreferences
from ..db import repository
from ..domain.errors import UnknownPerson
from ..domain.preferences import Preferences


def get_preferences(message: GetPreferences, uow: UnitOfWork) -> Preferences:
    if not repository.is_known(uow.session, message.person_id):
        raise UnknownPerson()
    return repository.preferences_of(uow.session, message.person_id)


def set_preferences(message: SetPreferences, uow: UnitOfWork) -> Preferences:
    """Applied from the next delivery pass on: a notification already sent stays sent, one
    still due is sent (or not) by the preferences it finds."""
    if not repository.is_known(uow.session, message.person_id):
        raise UnknownPerson()
    repository.set_preferences(
        uow.session, message.person_id, message.preferences, at=message.at, by=message.by
    )
    return message.preferences
