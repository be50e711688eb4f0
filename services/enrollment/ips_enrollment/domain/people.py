"""People and how they are reached."""

from __future__ import annotations

from ips_shared.contracts.events import Channel


def check_channel(
    channel: Channel, *, email: str | None, phone: str | None, sms_consent: bool
) -> None:
    """Text messages need a number and the person's consent (a message on a phone may be read
    by someone else). An email address may come later: until then nothing can be sent."""
    if channel == Channel.SMS and not (phone and sms_consent):
        raise ValueError("text messages need a phone number and the person's consent (sms_consent)")
