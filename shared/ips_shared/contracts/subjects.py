"""NATS subjects: `ips.<area>.<entity>.<fact>`.

Hours subjects end in the reporting source's token, so that a partner's credentials can
be limited to its own subject (`ips.hours.logged.<source_id>`).
"""

import functools
import hashlib
import re

PS101_COMPLETED = "ips.enrollment.ps101.completed"
APPLICATION_SUBMITTED = "ips.enrollment.application.submitted"
APPLICATION_ACCEPTED = "ips.enrollment.application.accepted"
APPLICATION_WAITLISTED = "ips.enrollment.application.waitlisted"
APPLICATION_DECLINED = "ips.enrollment.application.declined"
APPLICATION_WITHDRAWN = "ips.enrollment.application.withdrawn"
TRAINING_DAY_ATTENDED = "ips.enrollment.training_day.attended"
TRAINING_COMPLETED = "ips.enrollment.training.completed"
COHORT_SCHEDULED = "ips.enrollment.cohort.scheduled"

# Contact details: one subject per person (a digest of the id: any id, a valid token, no id
# in the subject), in a stream that keeps the latest message of each subject only.
PERSON_CONTACT_PREFIX = "ips.contacts.changed"
PERSON_CONTACT_ALL = f"{PERSON_CONTACT_PREFIX}.*"

HOURS_LOGGED_PREFIX = "ips.hours.logged"
HOURS_REJECTED_PREFIX = "ips.hours.rejected"
HOURS_LOGGED_ALL = f"{HOURS_LOGGED_PREFIX}.*"
# Who may report hours (source prefixes): partners, trainers and OBH staff. No service
# reports hours, so a `service/<name>` source on an hours subject is refused by the ledger's
# consumer.
HOURS_REPORTERS = ("partner/", "trainer/", "obh/")
HOURS_REJECTED_ALL = f"{HOURS_REJECTED_PREFIX}.*"

CERTIFICATION_STATUS_CHANGED = "ips.certification.status.changed"
REVIEW_DUE = "ips.certification.review.due"
REVIEW_COMPLETED = "ips.certification.review.completed"
HOURS_VOIDED = "ips.certification.hours.voided"

NOTIFICATION_DELIVERED = "ips.notifications.notification.delivered"
NOTIFICATION_FAILED = "ips.notifications.notification.failed"

DEAD_LETTER_PREFIX = "ips.deadletter"

# A partner id is a lower-case slug; internal sources are `service/<name>`, `trainer/<id>`
# and `obh/<id>` (the office's staff), whose tokens carry a prefix no partner id may start with.
SOURCE_TOKEN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
INTERNAL_PREFIXES = {"service": "service-", "trainer": "trainer-", "obh": "obh-"}


class InvalidSource(ValueError):
    """The envelope `source` is not one an hours subject can be derived from."""


@functools.lru_cache(maxsize=4096)  # few sources, every report: checked once each
def source_token(source: str) -> str:
    """The subject token for an envelope source: `partner/smhc` -> `smhc`."""
    kind, _, ident = source.partition("/")
    if not SOURCE_TOKEN.fullmatch(ident):
        raise InvalidSource(f"source {source!r} must be <kind>/<lower-case slug>")
    if kind == "partner":
        if ident.startswith(tuple(INTERNAL_PREFIXES.values())):
            raise InvalidSource(f"partner id {ident!r} uses a reserved prefix")
        return ident
    if kind in INTERNAL_PREFIXES:
        return INTERNAL_PREFIXES[kind] + ident
    raise InvalidSource(f"source kind {kind!r} is not partner, service, trainer or obh")


# The identity that provisions streams; every other identity is a source.
ADMIN_IDENTITY = "admin"


def inbox_prefix(identity: str) -> str:
    """Where an identity takes its replies: `_INBOX.<its subject token>`, so that no party
    can subscribe to another's replies (`contracts.permissions`)."""
    if identity == ADMIN_IDENTITY:
        return "_INBOX"
    return f"_INBOX.{source_token(identity)}"


def person_contact_subject(person_id: str) -> str:
    digest = hashlib.sha256(person_id.encode()).hexdigest()[:32]
    return f"{PERSON_CONTACT_PREFIX}.{digest}"


def hours_logged_subject(source: str) -> str:
    return f"{HOURS_LOGGED_PREFIX}.{source_token(source)}"


def hours_rejected_subject(token: str) -> str:
    return f"{HOURS_REJECTED_PREFIX}.{token}"


def dead_letter_subject(service: str, consumer: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{service}.{consumer}"


def dead_letter_audit_subject(service: str, action: str) -> str:
    """Operators' replays and discards, in the service's dead-letter stream: one token
    longer than any letter's subject, so no consumer's name can be taken for it."""
    return f"{DEAD_LETTER_PREFIX}.{service}.audit.{action}"
