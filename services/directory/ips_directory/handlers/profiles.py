"""A specialist's profile: read and set by the person (or an operator for them)."""

from __future__ import annotations

from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import GetProfile, ProfileView, SetProfile
from ..db import repository
from ..domain.profiles import Profile


def get_profile(message: GetProfile, uow: UnitOfWork) -> ProfileView:
    """Unlisted and empty until the person enters one."""
    profile = repository.profile_of(uow.session, message.person_id) or Profile()
    return ProfileView(
        message.person_id, profile, repository.appears(uow.session, message.person_id)
    )


def set_profile(message: SetProfile, uow: UnitOfWork) -> ProfileView:
    """Replace the profile. It may be entered before the person is certified: it appears
    once they are (and opted in), and hides while they are not."""
    profile = message.profile.checked()
    repository.save_profile(uow.session, message.person_id, profile, by=message.by, at=message.at)
    uow.session.flush()
    return ProfileView(
        message.person_id, profile, repository.appears(uow.session, message.person_id)
    )
