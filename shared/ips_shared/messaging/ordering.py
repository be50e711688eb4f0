"""Per-key order: while an event waits for redelivery, later events with the same
`partitionkey` are held back until it is applied or dead-lettered."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _Blocker:
    sequence: int  # the stream position of the event being retried
    retry_at: float


class KeyGate:
    def __init__(self) -> None:
        self._blocked: dict[str, _Blocker] = {}

    def __bool__(self) -> bool:
        return bool(self._blocked)

    def held_back(self, key: str | None, sequence: int) -> bool:
        """Another event with this key, earlier in the stream, waits for its retry."""
        if key is None or key not in self._blocked:
            return False
        return self._blocked[key].sequence != sequence

    def hold_delay(self, key: str) -> float:
        """How long a held-back event waits before it is delivered again."""
        return max(0.1, self._blocked[key].retry_at - time.monotonic() + 0.1)

    def block(self, key: str | None, sequence: int, retry_in: float) -> None:
        if key is not None:
            self._blocked[key] = _Blocker(sequence, time.monotonic() + retry_in)

    def release(self, key: str | None, sequence: int) -> None:
        blocker = self._blocked.get(key or "")
        if blocker is not None and blocker.sequence == sequence:
            del self._blocked[key]  # type: ignore[arg-type]
