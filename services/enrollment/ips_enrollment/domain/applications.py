"""Applications to the certification training."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ips_shared.contracts.events import Transport


class EnrollmentError(Exception):
    """A rule refused the request: `code` is for machines, the message for people."""

    code = "enrollment_error"
    status = 422


class DuplicateApplication(EnrollmentError):
    code = "duplicate_application"
    status = 409


@dataclass(frozen=True)
class ApplicationRequest:
    person_id: str
    transport: Transport
    work_settings: tuple[str, ...]
    received_at: datetime
