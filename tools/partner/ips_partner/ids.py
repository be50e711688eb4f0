"""Stable event ids: the same row of the same file, sent again, is the same report.

Certification counts a report once per source and event id, so a re-run of a file must
give each row the id it had before. The id is a name-based UUID (version 5) over the
source and either

- the row's `report_id`, when the partner's own system numbers its lines (the id then
  survives any change to the row: a corrected row must be voided by the office, see the
  guide), or
- what the row reports (person, category, hours, activity date) and how many identical
  rows came before it in the file: two identical rows are two reports, and a re-run maps
  each to the id it had. The note is left out, so rewording it does not make a new report
  that would count the hours twice.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence

from ips_shared.contracts.events import HoursLogged

from .rows import Row

# Fixed for ever: changing it would give every row already sent a new id.
NAMESPACE = uuid.UUID("5d0c8a3e-6f1b-5b4e-9f3a-2c7e1d9b8a60")


def content_key(report: HoursLogged) -> tuple[str, str, str, str]:
    """What a report counts, spelt one way: `1.50`, `1.5` and `15e-1` hours are the same."""
    return (
        report.person_id,
        report.category.value,
        f"{report.hours.normalize():f}",
        report.activity_date.isoformat(),
    )


def event_id(source: str, report_id: str | None, key: tuple[str, ...], occurrence: int) -> str:
    name = ["report_id", report_id] if report_id is not None else ["row", *key, occurrence]
    return str(uuid.uuid5(NAMESPACE, json.dumps([source, *name])))


def event_ids(source: str, rows: Sequence[Row]) -> list[str]:
    """Each row's event id, in order."""
    seen: Counter[tuple[str, ...]] = Counter()
    ids = []
    for row in rows:
        key = content_key(row.report)
        occurrence = 0
        if row.report_id is None:
            occurrence = seen[key]
            seen[key] += 1
        ids.append(event_id(source, row.report_id, key, occurrence))
    return ids
