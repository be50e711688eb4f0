"""The summary a run ends with, and its exit code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .publishing import Results
from .rows import Invalid

OK, REFUSED, TROUBLE = 0, 1, 2


@dataclass(frozen=True)
class Summary:
    lines: list[str]
    exit_code: int


def summarise(results: Results, invalid: Sequence[Invalid], quiet: float) -> Summary:
    """Counts first, then one line per row that needs attention, in file order.

    Exit code: 0 if every row was published or already known; 1 if any was rejected or
    invalid; 2 if any went unacknowledged (a connection trouble: run the file again)."""
    counts = [
        f"published      {len(results.published)}",
        f"already known  {len(results.already_known)}",
        f"rejected       {len(results.rejected)}",
        f"invalid        {len(invalid)} (not sent)",
    ]
    if results.unacknowledged:
        counts.append(f"unacknowledged {len(results.unacknowledged)}")
    details = sorted(
        [(bad.line, f"line {bad.line}: invalid: {bad.reason}") for bad in invalid]
        + [
            (no.line, f"line {no.line}: rejected: {no.reason_code}: {no.reason}")
            for no in results.rejected
        ]
        + [(line, f"line {line}: unacknowledged: {why}") for line, why in results.unacknowledged]
    )
    lines = counts + [text for _, text in details]
    if results.published:
        lines.append(
            "The platform answers refusals only: none came for the published reports within "
            f"{quiet:g}s, so they are taken as accepted (--wait gives it longer)."
        )
    if results.already_known:
        lines.append(
            "Already known reports were sent before and count once; one refused before is "
            "checked again only if sent again after two minutes."
        )
    if results.unacknowledged:
        lines.append("Some reports were not acknowledged: run the same file again (it is safe).")
    lines += [f"server: {problem}" for problem in dict.fromkeys(results.problems)]
    if results.unacknowledged:
        return Summary(lines, TROUBLE)
    return Summary(lines, REFUSED if results.rejected or invalid else OK)
