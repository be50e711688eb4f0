"""Every event sent, classified as Jepsen's queue checker does: lost (no effect), applied
once, or applied more than once; and the figures each scenario reports."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .traffic import APPLIED, Report

RESULTS: list[str] = []  # the figures of each scenario run, shown at the end (conftest.py)


@dataclass
class Tally:
    once: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    # applied once, but not as expected: for a pair of reports, applied out of order
    misapplied: list[str] = field(default_factory=list)

    def count(self, key: str, effects: int) -> None:
        if effects == 0:
            self.lost.append(key)
        elif effects == 1:
            self.once += 1
        else:
            self.duplicated.append(key)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.once + other.once,
            self.lost + other.lost,
            self.duplicated + other.duplicated,
            self.misapplied + other.misapplied,
        )

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.misapplied)


def tally_reports(
    reports: Iterable[Report],
    entries: Counter[tuple[str, str]],
    answered: Mapping[tuple[str, str], list[str]],
) -> Tally:
    """A report's effect is its ledger entry or its HoursRejected; exactly one is due."""
    tally = Tally()
    for report in reports:
        counted = entries[(report.source, report.event_id)]
        refused = answered.get((report.token, report.event_id), [])
        tally.count(report.event_id, counted + len(refused))
        if counted + len(refused) == 1:
            outcome = APPLIED if counted else refused[0]
            if outcome != report.expected:
                tally.misapplied.append(report.event_id)
    return tally


def differing_totals(
    expected: Mapping[tuple[str, str], Decimal], found: Mapping[tuple[str, str], Decimal]
) -> list[tuple[str, str]]:
    return sorted(
        key for key in expected.keys() | found.keys() if expected.get(key) != found.get(key)
    )


async def drain(
    check: Callable[[], Awaitable[Tally]],
    quiet: Callable[[], Awaitable[bool]],
    timeout: float,
) -> tuple[Tally, float | None]:
    """Re-checks until nothing is lost any more and the consumers have nothing left to
    deliver or acknowledge (so no redelivery can still add a duplicate); (the last tally,
    the seconds it took, or None if it did not settle within `timeout`)."""
    began = time.monotonic()
    while True:
        tally = await check()
        if not tally.lost and await quiet():
            return await check(), time.monotonic() - began
        if time.monotonic() - began > timeout:
            return tally, None
        await asyncio.sleep(1.0)


@dataclass
class Figures:
    scenario: str
    sent: int
    tally: Tally
    faults: str
    drain_seconds: float | None
    began: float
    extra: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        drained = "not drained" if self.drain_seconds is None else f"{self.drain_seconds:.1f} s"
        parts = [
            f"sent {self.sent}",
            f"applied once {self.tally.once}",
            f"lost {len(self.tally.lost)}",
            f"duplicated {len(self.tally.duplicated)}",
            f"misapplied {len(self.tally.misapplied)}",
            f"faults: {self.faults}",
            f"time to drain {drained}",
            f"scenario {time.monotonic() - self.began:.0f} s",
            *(f"{name} {value}" for name, value in self.extra.items()),
        ]
        return f"{self.scenario}: " + "; ".join(parts)

    def report(self) -> None:
        """Printed by the test (shown on failure) and kept for the run's summary."""
        line = self.line()
        RESULTS.append(line)
        print(line)
        for name in ("lost", "duplicated", "misapplied"):
            if ids := getattr(self.tally, name):
                print(f"  {name} (first 5): {ids[:5]}")
