"""Refusals: each has a machine-readable `code`, an HTTP status and a sentence for people."""


class CertificationError(Exception):
    code = "certification_error"
    status = 422


class NotFound(CertificationError):
    code = "not_found"
    status = 404


class AlreadyVoided(CertificationError):
    code = "already_voided"
    status = 409


class Forbidden(CertificationError):
    code = "forbidden"
    status = 403
