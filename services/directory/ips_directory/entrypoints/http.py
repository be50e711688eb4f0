"""The directory's HTTP API.

Public, without a token, rate-limited per client (`PUBLIC_RATE_LIMIT`, 429
`too_many_requests`): certificate verification (status and dates only), search of
listed specialists (their shown fields only), centers and groups, the group types.
A person (their own token, or an operator for them): their profile. Operators: centers,
groups and group types (each request in the audit trail)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ips_shared.auth import ApiTokens, Principal, Role
from ips_shared.http import bearer_principal, require
from ips_shared.listing import PageRequest
from ips_shared.messaging.bus import MessageBus
from ips_shared.rate_limits import public_rate_limit

from ..commands import (
    CenterListing,
    CenterPage,
    DeleteCenter,
    DeleteGroup,
    DeleteGroupType,
    GetCenter,
    GetProfile,
    GroupListing,
    GroupPage,
    ListGroupTypes,
    ProfileView,
    SaveCenter,
    SaveGroup,
    SaveGroupType,
    SearchCenters,
    SearchGroups,
    SearchSpecialists,
    SetProfile,
    SpecialistPage,
    VerifyCertificate,
)
from ..domain import profiles
from ..domain.centers import Center, Group, GroupType, Meeting, Weekday
from ..domain.certificates import Verification
from ..domain.errors import NotOwnProfile
from ..domain.profiles import Profile, Setting
from ..domain.search import LARGEST_PAGE


def line(longest: int) -> type[str]:
    """One line of visible text, 1 to `longest` characters."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=longest, pattern=r"^[^\x00-\x1f\x7f]+$"
        ),
    ]


PersonId = Annotated[str, Path(min_length=1, max_length=64)]
EntityId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
CertificateNumber = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
]
TypeCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
Page = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=LARGEST_PAGE)]
Text = Annotated[str | None, Query(max_length=200)]
Area = Annotated[str | None, Query(max_length=80)]


class ProfileIn(BaseModel):
    """The whole profile, replaced by each PUT. `shown` names the fields the public may
    see (each must have a value); `listed: false` (the default) shows nothing."""

    model_config = ConfigDict(extra="forbid")

    listed: bool = False
    shown: list[profiles.Field] = Field(default_factory=list, max_length=5)
    display_name: line(profiles.NAME_LENGTH) | None = None  # type: ignore[valid-type]
    region: line(profiles.REGION_LENGTH) | None = Field(  # type: ignore[valid-type]
        default=None, description="Region or county"
    )
    settings: list[Setting] = Field(default_factory=list, max_length=len(Setting))
    languages: list[line(profiles.LANGUAGE_LENGTH)] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=profiles.MOST_LANGUAGES
    )
    about: line(profiles.ABOUT_LENGTH) | None = Field(  # type: ignore[valid-type]
        default=None, description="A short line about their work"
    )

    def chosen(self) -> Profile:
        return Profile(
            listed=self.listed,
            display_name=self.display_name,
            region=self.region,
            settings=tuple(dict.fromkeys(self.settings)),
            languages=tuple(dict.fromkeys(self.languages)),
            about=self.about,
            shown=frozenset(self.shown),
        )


class ProfileOut(BaseModel):
    person_id: str
    listed: bool
    shown: list[profiles.Field]
    display_name: str | None
    region: str | None
    settings: list[Setting]
    languages: list[str]
    about: str | None
    appears: bool = Field(description="Whether the public sees it now (listed and certified)")


def profile_out(view: ProfileView) -> ProfileOut:
    chosen = view.profile
    return ProfileOut(
        person_id=view.person_id,
        listed=chosen.listed,
        shown=sorted(chosen.shown),
        display_name=chosen.display_name,
        region=chosen.region,
        settings=list(chosen.settings),
        languages=list(chosen.languages),
        about=chosen.about,
        appears=view.appears,
    )


class CenterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: line(200)  # type: ignore[valid-type]
    town: line(100)  # type: ignore[valid-type]
    county: line(80)  # type: ignore[valid-type]
    opening_hours: line(500)  # type: ignore[valid-type]
    rooms: list[line(60)] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    ages_served: line(100) = "Adults 18 and over"  # type: ignore[valid-type]
    no_referral_or_insurance_needed: bool = True

    def chosen(self) -> Center:
        return Center(**self.model_dump() | {"rooms": tuple(self.rooms)})


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: Weekday
    starts_at: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")
    ends_at: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    first_month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    last_month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")

    def chosen(self) -> Meeting:
        from datetime import time

        return Meeting(
            weekday=self.weekday,
            starts_at=time.fromisoformat(self.starts_at),
            ends_at=time.fromisoformat(self.ends_at) if self.ends_at else None,
            first_month=_month(self.first_month),
            last_month=_month(self.last_month),
        )


def _month(text: str | None) -> date | None:
    return date.fromisoformat(f"{text}-01") if text else None


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type_code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name: line(200)  # type: ignore[valid-type]
    description: str = Field(default="", max_length=1000)
    meetings: list[MeetingIn] = Field(default_factory=list, max_length=20)

    @field_validator("description")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise ValueError("control characters are not allowed")
        return value.strip()

    def chosen(self, center_id: str) -> Group:
        meetings = tuple(m.chosen() for m in self.meetings)
        return Group(center_id, self.type_code, self.name, self.description, meetings)


class GroupUpdate(GroupIn):
    center_id: str = Field(min_length=1, max_length=32)


class GroupTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: line(100)  # type: ignore[valid-type]


def public_router(bus: MessageBus) -> APIRouter:
    """Anyone's: verification and search, each call counted against the client's limit."""
    api = APIRouter(dependencies=[Depends(public_rate_limit)], tags=["public"])

    @api.get(
        "/certificates/{number}",
        responses={404: {"description": "`unknown_certificate`: no such number"}},
    )
    async def verify_certificate(number: CertificateNumber) -> Verification:
        """A certificate's status and dates: certified since and valid through (certified
        or at risk), or lapsed since. Nothing about the person."""
        return await bus.dispatch(VerifyCertificate(number))

    @api.get("/specialists")
    async def search_specialists(
        q: Text = None,
        region: Area = None,
        setting: Setting | None = None,
        language: Annotated[str | None, Query(max_length=40)] = None,
        page: Page = 1,
        page_size: PageSize = 20,
    ) -> SpecialistPage:
        """Certified specialists who chose to be listed, with the fields they chose."""
        query = SearchSpecialists(q, region, setting, language, PageRequest(page, page_size))
        return await bus.dispatch(query)

    @api.get("/centers")
    async def search_centers(
        q: Text = None, county: Area = None, page: Page = 1, page_size: PageSize = 20
    ) -> CenterPage:
        """Peer support centers (no referral or insurance needed)."""
        return await bus.dispatch(SearchCenters(q, county, PageRequest(page, page_size)))

    @api.get("/centers/{center_id}")
    async def get_center(center_id: EntityId) -> CenterListing:
        """One center and all its groups."""
        return await bus.dispatch(GetCenter(center_id))

    @api.get("/groups")
    async def search_groups(
        q: Text = None,
        county: Area = None,
        type: Annotated[str | None, Query(max_length=40)] = None,
        day: Weekday | None = None,
        month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
        page: Page = 1,
        page_size: PageSize = 20,
    ) -> GroupPage:
        """Groups at the centers; `month` (YYYY-MM) keeps the meetings held that month."""
        query = SearchGroups(
            q, county, type, day.value if day else None, _month(month), PageRequest(page, page_size)
        )
        return await bus.dispatch(query)

    @api.get("/group-types")
    async def group_types() -> list[GroupType]:
        return await bus.dispatch(ListGroupTypes())

    return api


def router(bus: MessageBus, tokens: ApiTokens, clock: Callable[[], datetime]) -> APIRouter:
    principal = bearer_principal(tokens)
    operator = Depends(require(principal, Role.OPERATOR))
    anyone = Depends(require(principal, Role.OPERATOR, Role.PERSON))
    api = APIRouter()

    def own(who: Principal, person_id: str) -> None:
        # Another person's profile: not found, whatever it holds.
        if not who.acts_for(person_id):
            raise NotOwnProfile()

    @api.get("/people/{person_id}/profile", tags=["profile"])
    async def get_profile(person_id: PersonId, who: Principal = anyone) -> ProfileOut:
        """A person's own profile (an operator: anyone's): unlisted and empty by default."""
        own(who, person_id)
        return profile_out(await bus.dispatch(GetProfile(person_id)))

    @api.put("/people/{person_id}/profile", tags=["profile"])
    async def set_profile(
        person_id: PersonId, body: ProfileIn, who: Principal = anyone
    ) -> ProfileOut:
        """Replace the profile: listed or not, each field and whether it is shown."""
        own(who, person_id)
        command = SetProfile(person_id, body.chosen(), by=who.name, at=clock())
        return profile_out(await bus.dispatch(command))

    @api.post("/centers", status_code=201, dependencies=[operator], tags=["operators"])
    async def create_center(body: CenterIn) -> CenterListing:
        return await bus.dispatch(SaveCenter(body.chosen()))

    @api.put("/centers/{center_id}", dependencies=[operator], tags=["operators"])
    async def update_center(center_id: EntityId, body: CenterIn) -> CenterListing:
        return await bus.dispatch(SaveCenter(body.chosen(), center_id))

    @api.delete(
        "/centers/{center_id}", status_code=204, dependencies=[operator], tags=["operators"]
    )
    async def delete_center(center_id: EntityId) -> Response:
        """The center and its groups."""
        await bus.dispatch(DeleteCenter(center_id))
        return Response(status_code=204)

    @api.post(
        "/centers/{center_id}/groups",
        status_code=201,
        dependencies=[operator],
        tags=["operators"],
    )
    async def create_group(center_id: EntityId, body: GroupIn) -> GroupListing:
        return await bus.dispatch(SaveGroup(body.chosen(center_id)))

    @api.put("/groups/{group_id}", dependencies=[operator], tags=["operators"])
    async def update_group(group_id: EntityId, body: GroupUpdate) -> GroupListing:
        """Replace a group, its schedule included (a group may move to another center)."""
        return await bus.dispatch(SaveGroup(body.chosen(body.center_id), group_id))

    @api.delete("/groups/{group_id}", status_code=204, dependencies=[operator], tags=["operators"])
    async def delete_group(group_id: EntityId) -> Response:
        await bus.dispatch(DeleteGroup(group_id))
        return Response(status_code=204)

    @api.put("/group-types/{code}", dependencies=[operator], tags=["operators"])
    async def save_group_type(code: TypeCode, body: GroupTypeIn) -> GroupType:
        """Add a group type, or rename one."""
        return await bus.dispatch(SaveGroupType(code, body.label))

    @api.delete("/group-types/{code}", status_code=204, dependencies=[operator], tags=["operators"])
    async def delete_group_type(code: TypeCode) -> Response:
        """An added type no group uses (the program's own stay)."""
        await bus.dispatch(DeleteGroupType(code))
        return Response(status_code=204)

    return api
