"""Ride sharing to the training: who needs a ride and who offers one, by region."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rider:
    """An accepted trainee, as ride sharing sees them."""

    person_id: str
    region: str
    needs_ride: bool
    offers_ride: bool


@dataclass(frozen=True)
class RideListing:
    region: str
    needs_ride: list[str]
    offers_ride: list[str]


def by_region(riders: Iterable[Rider]) -> list[RideListing]:
    """One listing per region, regions in alphabetical order."""
    regions: dict[str, RideListing] = {}
    for rider in riders:
        listing = regions.setdefault(rider.region, RideListing(rider.region, [], []))
        if rider.needs_ride:
            listing.needs_ride.append(rider.person_id)
        if rider.offers_ride:
            listing.offers_ride.append(rider.person_id)
    return [regions[region] for region in sorted(regions)]
