"""People and how they are reached."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field

from ips_shared.contracts.events import Channel, Language

from .errors import InvalidContact

# Numbers written without a country code are taken as North American (the program is a
# US state's): ten digits, or eleven beginning with 1.
DEFAULT_COUNTRY_CODE = "1"
_FORMATTING = re.compile(r"[ ()\-.]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def check_channel(
    channel: Channel, *, email: str | None, phone: str | None, sms_consent: bool
) -> None:
    """Text messages need a number and the person's consent (a message on a phone may be read
    by someone else). An email address may come later: until then nothing can be sent."""
    if channel == Channel.SMS and not (phone and sms_consent):
        raise ValueError("text messages need a phone number and the person's consent (sms_consent)")


def to_e164(phone: str) -> str:
    """A phone number as E.164 (`+12075550100`): spaces, dashes, dots and parentheses are
    dropped; a number without `+` is North American. The message never holds the number."""
    digits = _FORMATTING.sub("", phone.strip())
    if not digits.startswith("+"):
        if len(digits) == 11 and digits.startswith(DEFAULT_COUNTRY_CODE):
            digits = digits[1:]
        if len(digits) != 10:
            raise ValueError(
                "a phone number needs its country code (+...) unless it has ten digits"
            )
        digits = f"+{DEFAULT_COUNTRY_CODE}{digits}"
    if not _E164.fullmatch(digits):
        raise ValueError("not a phone number: a + and 7 to 15 digits, the first not 0")
    return digits


def e164_or_none(phone: str | None) -> str | None:
    """For numbers stored before they were kept as E.164: one that cannot be read as a
    number is left out of what is published."""
    if not phone:
        return None
    try:
        return to_e164(phone)
    except ValueError:
        return None


# A phone number as people write it (`207-555-0100`, `+1 (207) 555-0100`), kept as E.164.
Phone = Annotated[
    str,
    Field(max_length=32, pattern=r"^\+?[0-9 ().-]{7,32}$"),
    AfterValidator(to_e164),
]


@dataclass(frozen=True)
class Contact:
    """How a person is addressed and reached: what `PersonContactChanged` carries."""

    name: str
    email: str | None
    phone: str | None
    preferred_channel: Channel
    sms_consent: bool
    language: Language

    def erased(self) -> Contact:
        """No way to reach the person left: the name (their enrollment record's) and the
        language stay."""
        return dataclasses.replace(
            self, email=None, phone=None, preferred_channel=Channel.EMAIL, sms_consent=False
        )

    def changed(self, changes: Mapping[str, object]) -> Contact:
        """This contact with `changes` (field -> new value; only the fields named change),
        still reachable by its chosen channel."""
        if unknown := set(changes) - {field.name for field in dataclasses.fields(self)}:
            raise InvalidContact(f"Not contact details: {', '.join(sorted(unknown))}.")
        updated = dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        try:
            check_channel(
                updated.preferred_channel,
                email=updated.email,
                phone=updated.phone,
                sms_consent=updated.sms_consent,
            )
        except ValueError as error:
            raise InvalidContact(f"The contact details cannot be used: {error}.") from None
        return updated
