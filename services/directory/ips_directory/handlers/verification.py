"""Certificate verification: status and dates, nothing about the person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import VerifyCertificate
from ..db import repository
from ..domain.certificates import Verification, verify
from ..domain.errors import UnknownCertificate


def verify_certificate(
    message: VerifyCertificate, uow: UnitOfWork, *, today: Callable[[], date]
) -> Verification:
    found = repository.certificate_numbered(uow.session, message.number)
    if found is None:
        raise UnknownCertificate()
    return verify(found, today())
