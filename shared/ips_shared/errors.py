"""The kinds of refusal a use case may raise. They say what went wrong, not how a
channel answers it: the HTTP layer maps each kind to a status in one place
(`ips_shared.http`), an import command reports it by line."""


class DomainError(Exception):
    """A rule refused a request: `code` for machines, the message for people."""

    code = "refused"


class Invalid(DomainError):
    """The request breaks a rule of the program."""


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    """The request does not fit the current state (a duplicate, a full cohort, ...)."""

    code = "conflict"
