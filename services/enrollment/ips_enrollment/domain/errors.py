"""Enrollment's refusals: each has a machine-readable `code` and a sentence for people.
Their kinds (`ips_shared.errors`) say what went wrong; the HTTP layer maps kinds to statuses."""

from ips_shared import errors


class EnrollmentError(errors.DomainError):
    pass


class NotFound(EnrollmentError, errors.NotFound):
    pass


class UnknownPerson(NotFound):
    """One sentence for every case, so a person asking for another's record is told
    exactly what they would be told for an id nobody has."""

    code = "unknown_person"

    def __init__(self) -> None:
        super().__init__("No person has this id.")


class UnknownApplication(NotFound):
    """As `UnknownPerson`: another person's application looks absent too."""

    def __init__(self) -> None:
        super().__init__("No application has this id.")


class UnknownCohort(NotFound):
    code = "unknown_cohort"


class Conflict(EnrollmentError, errors.Conflict):
    pass


class MissingPrerequisite(Conflict):
    code = "missing_prerequisite"


class DuplicatePerson(Conflict):
    code = "duplicate_person"


class DuplicateApplication(Conflict):
    code = "duplicate_application"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class CohortFull(Conflict):
    code = "cohort_full"


class SessionFull(Conflict):
    code = "session_full"


class NotInCohort(Conflict):
    code = "not_in_cohort"


class InvalidDay(EnrollmentError, errors.Invalid):
    code = "invalid_day"


class InvalidCohort(EnrollmentError, errors.Invalid):
    code = "invalid_cohort"


class FutureDate(EnrollmentError, errors.Invalid):
    code = "future_date"


class InvalidContact(EnrollmentError, errors.Invalid):
    code = "invalid_contact"


class InvalidSchedule(EnrollmentError, errors.Invalid):
    code = "invalid_schedule"


class NoSchedule(NotFound):
    code = "no_schedule"


class InvalidPeriod(EnrollmentError, errors.Invalid):
    code = "invalid_period"


class UnknownTrainer(EnrollmentError, errors.Invalid):
    code = "unknown_trainer"


class Forbidden(EnrollmentError, errors.Forbidden):
    pass


class OperatorsOnly(Forbidden):
    """Something only an operator may give, such as the date a paper application was
    received: a person's own application is dated when it arrives."""

    code = "operators_only"


class NotAssigned(Forbidden):
    """A trainer asked for a cohort or session they are not assigned to."""

    code = "not_assigned"
