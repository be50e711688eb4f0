"""The directory's use cases as messages: a `Command` changes state (the bus commits it),
a `Query` only reads. Results are plain dataclasses, for the JSON API and for a web page
rendering the same search and verification results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ips_shared.listing import PageRequest
from ips_shared.messaging.bus import Command, Query

from .domain.centers import Center, Group, GroupType, Meeting
from .domain.certificates import Status, Verification
from .domain.profiles import Profile, PublicProfile, Setting

# -- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyCertificate(Query[Verification]):
    """A certificate's status and dates (`domain.certificates.Verification`); an unknown
    number is refused (`UnknownCertificate`)."""

    number: str


# -- profiles ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileView:
    """A person's own view of their profile: every value they entered, what they chose
    to show, and whether it appears publicly now."""

    person_id: str
    profile: Profile
    appears: bool


@dataclass(frozen=True)
class GetProfile(Query[ProfileView]):
    person_id: str


@dataclass(frozen=True)
class SetProfile(Command[ProfileView]):
    """Replace a person's profile; `by` names who set it (a token's name)."""

    person_id: str
    profile: Profile
    by: str
    at: datetime


# -- search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecialistListing:
    """A listed specialist: the fields they chose, their status and the date it runs to.
    No person id, no certificate number."""

    profile: PublicProfile
    status: Status
    valid_through: date | None


@dataclass(frozen=True)
class SpecialistPage:
    items: list[SpecialistListing]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class SearchSpecialists(Query[SpecialistPage]):
    """Listed specialists matching every filter given: words of their shown name, region
    or line (as prefixes), region or county, setting, language. Best matches first with
    words, else by name."""

    text: str | None = None
    region: str | None = None
    setting: Setting | None = None
    language: str | None = None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True)
class CenterSummary:
    center_id: str
    name: str
    town: str
    county: str


@dataclass(frozen=True)
class GroupListing:
    group_id: str
    name: str
    description: str
    type_code: str
    type_label: str
    center: CenterSummary
    meetings: tuple[Meeting, ...]


@dataclass(frozen=True)
class CenterListing:
    center_id: str
    center: Center
    groups: tuple[GroupListing, ...] = ()


@dataclass(frozen=True)
class CenterPage:
    items: list[CenterListing]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class SearchCenters(Query[CenterPage]):
    """Centers by words of their name, town or county, and by county; by name."""

    text: str | None = None
    county: str | None = None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True)
class GroupPage:
    items: list[GroupListing]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class SearchGroups(Query[GroupPage]):
    """Groups by words (their name, description, type, center, town), the center's county,
    type, weekday and month (`month`: its first day; the meetings shown are those held
    that month). Sorted by town, center, then name."""

    text: str | None = None
    county: str | None = None
    type_code: str | None = None
    weekday: str | None = None
    month: date | None = None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True)
class GetCenter(Query[CenterListing]):
    """One center with all its groups."""

    center_id: str


@dataclass(frozen=True)
class ListGroupTypes(Query[list[GroupType]]):
    pass


# -- the operators' changes --------------------------------------------------------------


@dataclass(frozen=True)
class SaveCenter(Command[CenterListing]):
    """Create a center (`center_id` None: a new id is given) or replace one."""

    center: Center
    center_id: str | None = None


@dataclass(frozen=True)
class DeleteCenter(Command[None]):
    """Delete a center and its groups."""

    center_id: str


@dataclass(frozen=True)
class SaveGroup(Command[GroupListing]):
    group: Group
    group_id: str | None = None


@dataclass(frozen=True)
class DeleteGroup(Command[None]):
    group_id: str


@dataclass(frozen=True)
class SaveGroupType(Command[GroupType]):
    code: str
    label: str


@dataclass(frozen=True)
class DeleteGroupType(Command[None]):
    code: str
