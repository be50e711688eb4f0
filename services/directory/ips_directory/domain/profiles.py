"""A specialist's profile: the directory's own data, entered by the person. Unlisted by
default; listed, it shows only the fields the person chose, and only while their
certificate is listable (`certificates.Certificate.listable`). A lapse, suspension or
withdrawal hides it; the profile is kept, so reinstatement shows it again as it was.
Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import ShownFieldEmpty


class Setting(StrEnum):
    """Settings where specialists work (DOMAIN.md)."""

    WARMLINE = "warmline"
    EMERGENCY_DEPARTMENT = "emergency_department"
    BEHAVIORAL_HEALTH_HOME = "behavioral_health_home"
    STATE_PSYCHIATRIC_HOSPITAL = "state_psychiatric_hospital"
    PEER_CENTER = "peer_center"
    ACT_TEAM = "act_team"
    COMMUNITY_OUTREACH = "community_outreach"
    YOUTH_PEER_SUPPORT = "youth_peer_support"


class Field(StrEnum):
    """The fields a person may choose to show, each on its own."""

    DISPLAY_NAME = "display_name"
    REGION = "region"
    SETTINGS = "settings"
    LANGUAGES = "languages"
    ABOUT = "about"


NAME_LENGTH = 100
REGION_LENGTH = 80
LANGUAGE_LENGTH = 40
MOST_LANGUAGES = 10
ABOUT_LENGTH = 160


def key(text: str) -> str:
    """How a region or a language is compared: case and surrounding spaces ignored."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Profile:
    listed: bool = False
    display_name: str | None = None
    region: str | None = None
    settings: tuple[Setting, ...] = ()
    languages: tuple[str, ...] = ()
    about: str | None = None
    shown: frozenset[Field] = field(default_factory=frozenset)

    def checked(self) -> Profile:
        """The profile, if every field chosen to be shown has a value (else refused)."""
        empty = sorted(f for f in self.shown if not self._value(f))
        if empty:
            raise ShownFieldEmpty(empty)
        return self

    def _value(self, chosen: Field) -> object:
        return getattr(self, chosen.value)

    def public(self) -> PublicProfile:
        """What the public may see: the chosen fields alone."""
        shown = self.shown

        def pick(chosen: Field) -> object:
            return self._value(chosen) if chosen in shown else None

        return PublicProfile(
            display_name=pick(Field.DISPLAY_NAME),  # type: ignore[arg-type]
            region=pick(Field.REGION),  # type: ignore[arg-type]
            settings=self.settings if Field.SETTINGS in shown else (),
            languages=self.languages if Field.LANGUAGES in shown else (),
            about=pick(Field.ABOUT),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class PublicProfile:
    """A profile as the public sees it: what was not chosen is None or empty."""

    display_name: str | None
    region: str | None
    settings: tuple[Setting, ...]
    languages: tuple[str, ...]
    about: str | None

    def search_text(self) -> str:
        """What full-text search finds a listing by: the shown name, region and line."""
        return " ".join(part for part in (self.display_name, self.region, self.about) if part)

    def region_key(self) -> str | None:
        return key(self.region) if self.region else None

    def language_keys(self) -> frozenset[str]:
        return frozenset(key(language) for language in self.languages)
