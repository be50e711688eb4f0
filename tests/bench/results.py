"""What every benchmark run reports, in one shape: figures with their unit, the baseline
they are a ratio to (measured in the same run), and the target they are held to.

Each run module exposes `collect(options) -> Run`; `python -m tests.bench` runs them all,
prints one table and writes `bench/results/<stamp>.json`.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import quantiles

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


@dataclass(frozen=True)
class Figure:
    label: str  # what was measured, e.g. "ledger, SQLite, mix"
    value: float
    unit: str  # "msgs/s", "ms", "s", "MB", "rows", "ratio"
    target: str = ""  # e.g. ">= 0.8" or "<= 50 ms"; empty: reported, not held to one
    met: bool | None = None  # None when there is no target


@dataclass
class Run:
    number: int  # the run number (1-8)
    title: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)  # sizes, baselines, rounds

    def add(
        self, label: str, value: float, unit: str, target: str = "", met: bool | None = None
    ) -> None:
        self.figures.append(Figure(label, round(value, 3), unit, target, met))


def percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return quantiles(values, n=100, method="inclusive")[percent - 1]


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def machine() -> dict[str, object]:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    import os

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit,
    }


def print_table(runs: list[Run]) -> None:
    print(f"\n{'run':<4} {'figure':<64} {'value':>12} {'unit':<7} {'target':<12} met")
    for run in runs:
        print(f"{run.number:<4} {run.title}")
        for figure in run.figures:
            met = "" if figure.met is None else ("yes" if figure.met else "NO")
            print(
                f"{'':<4} {figure.label:<64} {figure.value:>12,.3f} {figure.unit:<7}"
                f" {figure.target:<12} {met}"
            )


def write(runs: list[Run], name: str = "bench") -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    document = {"machine": machine(), "at": stamp, "runs": [asdict(run) for run in runs]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
