"""Certification's refusals (codes and statuses come from `ips_shared.errors`)."""

from ips_shared import errors


class CertificationError(errors.Refused):
    pass


class NotFound(CertificationError, errors.NotFound):
    pass


class Forbidden(CertificationError, errors.Forbidden):
    pass


class AlreadyVoided(CertificationError, errors.Conflict):
    code = "already_voided"


class InvalidReview(CertificationError):
    code = "invalid_review"


class InvalidDecision(CertificationError, errors.Conflict):
    code = "invalid_decision"


class CertificateConflict(CertificationError, errors.Conflict):
    code = "certificate_conflict"


class InvalidCertificate(CertificationError):
    code = "invalid_certificate"
