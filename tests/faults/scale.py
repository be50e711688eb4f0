"""How large the fault scenarios run: `bounded` by default (inside `make test` and CI),
`full` with FAULTS_SCALE=full (`make test-faults`: the sizes issue 9 asks for)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    people: int  # trained people the partners report hours for
    certification_kills: int
    hours_under_kills: int
    relay_kills: int
    roster_rows_per_kill: int
    nats_restarts: int  # one of them a kill -9
    hours_under_nats_restarts: int
    postgres_outages: int
    outage_seconds: float
    hours_under_outages: int
    sigterms: int
    hours_under_sigterms: int
    valid_beside_poison: int
    hours_with_slow_handler: int
    notifications_under_kills: int  # one email each (at most 1,000: GET /notifications)
    notification_kills: int
    test_timeout: float  # seconds, per scenario


BOUNDED = Sizes(
    name="bounded",
    people=100,
    certification_kills=3,
    hours_under_kills=4_000,
    relay_kills=3,
    roster_rows_per_kill=150,
    nats_restarts=3,
    hours_under_nats_restarts=3_000,
    postgres_outages=1,
    outage_seconds=6.0,
    hours_under_outages=3_000,
    sigterms=2,
    hours_under_sigterms=3_000,
    valid_beside_poison=500,
    hours_with_slow_handler=600,
    notifications_under_kills=60,
    notification_kills=4,
    test_timeout=300.0,
)
FULL = Sizes(
    name="full",
    people=400,
    certification_kills=10,
    hours_under_kills=20_000,
    relay_kills=10,
    roster_rows_per_kill=500,
    nats_restarts=4,
    hours_under_nats_restarts=20_000,
    postgres_outages=3,
    outage_seconds=8.0,
    hours_under_outages=20_000,
    sigterms=5,
    hours_under_sigterms=20_000,
    valid_beside_poison=5_000,
    hours_with_slow_handler=10_000,
    notifications_under_kills=400,
    notification_kills=10,
    test_timeout=1_800.0,
)

_scale = os.environ.get("FAULTS_SCALE", "bounded")
if _scale not in ("bounded", "full"):
    raise RuntimeError(f"FAULTS_SCALE must be 'bounded' or 'full', not {_scale!r}")
SIZES = FULL if _scale == "full" else BOUNDED
