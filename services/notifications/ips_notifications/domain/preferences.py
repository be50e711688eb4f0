"""What a person chose about their notifications: the language they are written in, the
quiet hours their texts respect, and whether they want reminders. Pure: stored by the
repository, applied by the delivery use cases.

Opting out covers only what the rules table lets a person opt out of (`Rule.may_opt_out`):
never a message about their application or their certification status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from ips_shared.contracts.events import Language

from .delivery import Contact, QuietHours


@dataclass(frozen=True)
class Preferences:
    """`None` means "as before": the contact's language, the program's quiet hours."""

    language: Language | None = None
    quiet_hours: tuple[time, time] | None = None  # (start, end), local time of the program
    reminders: bool = True

    def language_for(self, contact: Contact) -> Language:
        """The preference, when set, wins over the contact's language."""
        return self.language or contact.language

    def quiet_hours_or(self, default: QuietHours) -> QuietHours:
        """The person's quiet hours replace the program's (in the program's time zone)."""
        if self.quiet_hours is None:
            return default
        start, end = self.quiet_hours
        return QuietHours(default.zone, start, end)

    def opted_out_of(self, *, may_opt_out: bool) -> bool:
        """Whether a message whose rule says `may_opt_out` is not to be sent."""
        return may_opt_out and not self.reminders


DEFAULT = Preferences()
