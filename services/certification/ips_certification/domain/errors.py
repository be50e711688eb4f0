"""Certification's refusals: each one a kind of `ips_shared.errors` (the HTTP layer gives
the status), with its own code."""

from ips_shared import errors


class CertificationError(errors.DomainError):
    pass


class NotFound(CertificationError, errors.NotFound):
    pass


class UnknownPerson(NotFound):
    """One sentence for every case, so a person asking for another's record is told
    exactly what they would be told for an id certification does not know."""

    def __init__(self) -> None:
        super().__init__("No person with this id is known to certification.")


class AlreadyVoided(CertificationError, errors.Conflict):
    code = "already_voided"


class AmbiguousEventId(CertificationError, errors.Conflict):
    """Two sources used the same event id: which entry is meant needs its source too."""

    code = "ambiguous_event_id"


class InvalidReview(CertificationError, errors.Invalid):
    code = "invalid_review"


class InvalidDecision(CertificationError, errors.Conflict):
    code = "invalid_decision"


class CertificateConflict(CertificationError, errors.Conflict):
    code = "certificate_conflict"


class InvalidCertificate(CertificationError, errors.Invalid):
    code = "invalid_certificate"


class InvalidDraft(CertificationError, errors.Invalid):
    code = "invalid_draft"


class InvalidPeriod(CertificationError, errors.Invalid):
    code = "invalid_period"

    def __init__(self) -> None:
        super().__init__("The period's first day is after its last day.")


class InvalidSource(CertificationError, errors.Invalid):
    code = "invalid_source"

    def __init__(self) -> None:
        super().__init__("The source is not a reporting source's name (`partner/<id>`).")
