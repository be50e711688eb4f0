"""Refusals: each has a machine-readable `code`, an HTTP status and a sentence for people."""


class EnrollmentError(Exception):
    code = "enrollment_error"
    status = 422


class NotFound(EnrollmentError):
    code = "not_found"
    status = 404


class UnknownPerson(NotFound):
    code = "unknown_person"


class Forbidden(EnrollmentError):
    code = "forbidden"
    status = 403


class Conflict(EnrollmentError):
    status = 409


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


class InvalidDay(EnrollmentError):
    code = "invalid_day"
