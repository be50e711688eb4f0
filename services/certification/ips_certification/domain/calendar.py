"""The service's sense of time: what now is, and which day it is where the program runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


class Calendar:
    """Every time this service records comes from its clock, so that what was known on a
    date is consistent when tests move the clock; dates are days in the policy's zone."""

    def __init__(self, clock: Clock, zone: ZoneInfo) -> None:
        self._clock = clock
        self.zone = zone

    def now(self) -> datetime:
        return self._clock()

    def today(self) -> date:
        return self.local_date(self._clock())

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()
