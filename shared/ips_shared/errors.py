"""Refusals a service's rules raise. The HTTP error envelope turns any of them into
`{"code", "detail"}` with its status, so no service writes its own handler."""


class Refused(Exception):
    """A rule refused a request: `code` for machines, the message for people."""

    code = "refused"
    status = 422


class NotFound(Refused):
    code = "not_found"
    status = 404


class Forbidden(Refused):
    code = "forbidden"
    status = 403


class Conflict(Refused):
    code = "conflict"
    status = 409
