"""Enrollment's use cases: one function per use case, `(message, uow, *, dependencies)`.

The dependencies the bootstrap binds: `clock` (now, time-zone aware), `policy` (the
enrollment policy) and `intakes` (its intake calendar)."""

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
