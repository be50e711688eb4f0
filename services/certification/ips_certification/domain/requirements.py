"""How far a person's hours go toward each requirement of a period.

A period is half-open: `[start, end)`. Hours on the last day of a year (`end - 1 day`)
count for that year; hours on `end` count for the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from dateutil.relativedelta import relativedelta

from ips_shared.contracts.events import HoursCategory

from .policy import AnyOf, Minimums, Requirement, SumOf


@dataclass(frozen=True)
class Credit:
    """Hours as the rules see them: when, what kind, how many."""

    activity_date: date
    category: HoursCategory
    hours: Decimal


@dataclass(frozen=True)
class Progress:
    name: str
    counted: Decimal
    required: Decimal
    unit: Literal["hours", "requirements"]
    window_start: date
    window_end: date
    parts: tuple[Progress, ...] = ()

    @property
    def met(self) -> bool:
        return self.counted >= self.required

    @property
    def missing(self) -> Decimal:
        return max(Decimal(0), self.required - self.counted)


def add_months(start: date, months: int) -> date:
    """Feb 29 + 12 months is Feb 28; counted from `start`, so the day never drifts."""
    return start + relativedelta(months=months)


def window(requirement: SumOf | Minimums, start: date, end: date) -> tuple[date, date]:
    """The anniversary window is the period itself; a rolling one ends with the period."""
    if requirement.window_months is None:
        return start, end
    return add_months(end, -requirement.window_months), end


def _hours_in(
    credits: Iterable[Credit], categories: Iterable[HoursCategory], start: date, end: date
) -> Decimal:
    wanted = set(categories)
    return sum(
        (c.hours for c in credits if c.category in wanted and start <= c.activity_date < end),
        Decimal(0),
    )


def progress(
    requirement: Requirement, credits: tuple[Credit, ...], start: date, end: date
) -> Progress:
    match requirement:
        case SumOf():
            first, last = window(requirement, start, end)
            counted = _hours_in(credits, requirement.categories, first, last)
            return Progress(requirement.name, counted, requirement.hours, "hours", first, last)
        case Minimums():
            first, last = window(requirement, start, end)
            parts = tuple(
                Progress(
                    category.value,
                    _hours_in(credits, [category], first, last),
                    hours,
                    "hours",
                    first,
                    last,
                )
                for category, hours in sorted(requirement.minimums.items())
            )
            return Progress(
                requirement.name,
                sum((min(part.counted, part.required) for part in parts), Decimal(0)),
                sum((part.required for part in parts), Decimal(0)),
                "hours",
                first,
                last,
                parts,
            )
        case AnyOf():
            parts = tuple(progress(choice, credits, start, end) for choice in requirement.of)
            return Progress(
                requirement.name,
                Decimal(sum(part.met for part in parts)),
                Decimal(requirement.needed),
                "requirements",
                min(part.window_start for part in parts),
                end,
                parts,
            )
    raise TypeError(requirement)  # pragma: no cover - the union is closed


def all_met(
    requirements: Iterable[Requirement], credits: tuple[Credit, ...], start: date, end: date
) -> bool:
    return all(progress(r, credits, start, end).met for r in requirements)
