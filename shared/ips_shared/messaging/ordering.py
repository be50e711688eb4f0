"""Per-key order: while an event waits for redelivery, later events with the same
`partitionkey` are held back, each in its turn: an event goes only when no earlier one
with its key is still waiting (failed, or held back itself), so the held-back events of
a key are applied in stream order too, and none overtakes them once the first is in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class _Waiting:
    sequences: set[int] = field(default_factory=set)  # stream positions not applied yet
    retry_at: float = 0.0  # when the one that failed last is delivered again


class KeyGate:
    def __init__(self) -> None:
        self._waiting: dict[str, _Waiting] = {}

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def held_back(self, key: str | None, sequence: int) -> bool:
        """An earlier event with this key waits: this one waits too, after it. Otherwise
        it goes, and the next one held for its key may follow it in the same batch (if it
        fails, `block` holds the key again)."""
        waiting = None if key is None else self._waiting.get(key)
        if waiting is None:
            return False
        if sequence > min(waiting.sequences):
            waiting.sequences.add(sequence)
            return True
        self.release(key, sequence)
        return False

    def hold_delay(self, key: str) -> float:
        """How long a held-back event waits before it is delivered again."""
        return max(0.1, self._waiting[key].retry_at - time.monotonic() + 0.1)

    def block(self, key: str | None, sequence: int, retry_in: float) -> None:
        if key is not None:
            waiting = self._waiting.setdefault(key, _Waiting())
            waiting.sequences.add(sequence)
            waiting.retry_at = time.monotonic() + retry_in

    def release(self, key: str | None, sequence: int) -> None:
        """The event at `sequence` is applied (or dead-lettered): the next may go."""
        waiting = self._waiting.get(key or "")
        if waiting is not None:
            waiting.sequences.discard(sequence)
            if not waiting.sequences:
                del self._waiting[key]  # type: ignore[arg-type]

    def forget(self, sequence: int) -> None:
        """Release the event at `sequence`, whatever its key (a message dead-lettered
        before it was read)."""
        for key in [key for key, waiting in self._waiting.items() if sequence in waiting.sequences]:
            self.release(key, sequence)
