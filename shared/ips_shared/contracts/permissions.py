"""Who may do what on NATS: one identity per party, each with the least it needs.

The server configuration (`ips_shared.nats_access`) is rendered from this module alone, so
the rules live in one place:

- `admin`, used by the provisioning step alone: everything, including creating, changing
  and deleting streams.
- a service (`service/<name>`): publishes the subjects it owns and its dead letters;
  reads only through its own durable consumers, on the streams named in `CONSUMERS`, each
  filtered as declared (the filter is part of the create subject, which the server checks
  against the request); looks at, resumes and deletes only those consumers; inspects only
  the streams it uses; takes replies on its own inbox prefix only. It cannot create,
  purge or delete a stream, nor touch another service's consumer.
- a reporter (`partner/<id>`, `trainer/<id>`, `obh/<id>`): publishes on its own hours
  subject only, and receives its own rejections and the replies (JetStream's
  acknowledgements) to its own inbox prefix; no JetStream API at all.

Anything a rule does not allow is refused by the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import streams, subjects

ADMIN = subjects.ADMIN_IDENTITY
JS_API = "$JS.API"


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


@dataclass(frozen=True)
class Reads:
    """A durable consumer a service reads with: on `stream`, named `durable`, filtered."""

    stream: streams.StreamSpec
    durable: str
    filter_subject: str


# What each service reads; its bootstrap's consumers must be these (a test compares them).
CONSUMERS: dict[str, tuple[Reads, ...]] = {
    "enrollment": (),
    "certification": (
        Reads(streams.ENROLLMENT, "training-completed", subjects.TRAINING_COMPLETED),
        Reads(streams.HOURS, "hours-logged", subjects.HOURS_LOGGED_ALL),
    ),
    "notifications": (
        Reads(streams.CONTACTS, "contacts", subjects.PERSON_CONTACT_ALL),
        Reads(streams.ENROLLMENT, "ps101-completed", subjects.PS101_COMPLETED),
        Reads(streams.ENROLLMENT, "application-submitted", subjects.APPLICATION_SUBMITTED),
        Reads(streams.ENROLLMENT, "application-accepted", subjects.APPLICATION_ACCEPTED),
        Reads(streams.ENROLLMENT, "application-waitlisted", subjects.APPLICATION_WAITLISTED),
        Reads(streams.ENROLLMENT, "application-declined", subjects.APPLICATION_DECLINED),
        Reads(streams.ENROLLMENT, "application-withdrawn", subjects.APPLICATION_WITHDRAWN),
        Reads(streams.ENROLLMENT, "training-completed-notice", subjects.TRAINING_COMPLETED),
        Reads(streams.ENROLLMENT, "cohort-scheduled", subjects.COHORT_SCHEDULED),
        Reads(streams.CERTIFICATION, "status-changed", subjects.CERTIFICATION_STATUS_CHANGED),
        Reads(streams.CERTIFICATION, "review-due", subjects.REVIEW_DUE),
        Reads(streams.CERTIFICATION, "hours-voided", subjects.HOURS_VOIDED),
    ),
    "directory": (
        Reads(streams.CERTIFICATION, "certificate-status", subjects.CERTIFICATION_STATUS_CHANGED),
    ),
}

# Consumers an operator command of a service makes for the time it runs and then deletes,
# never the service's own loops: the directory's `rebuild` reads certification's status
# changes from the start. The same rules as `CONSUMERS` (exact name, exact filter).
REPLAYS: dict[str, tuple[Reads, ...]] = {
    "directory": (
        Reads(
            streams.CERTIFICATION,
            "certificate-status-rebuild",
            subjects.CERTIFICATION_STATUS_CHANGED,
        ),
    ),
}

# What each service publishes, besides its dead letters. Certification answers reports on
# `ips.hours.rejected.*` but may not report hours itself.
PUBLISHES: dict[str, tuple[str, ...]] = {
    "enrollment": ("ips.enrollment.>", subjects.PERSON_CONTACT_ALL),
    "certification": ("ips.certification.>", subjects.HOURS_REJECTED_ALL),
    "notifications": ("ips.notifications.>",),
    "directory": (),
}

# Streams that only the named services may read (contact details, say): one line each.
CONFINED_STREAMS: dict[str, tuple[str, ...]] = {streams.CONTACTS.name: ("notifications",)}


class NotPermitted(ValueError):
    """A rule asked for something the model forbids (a read of a confined stream)."""


def permissions_of(identity: str) -> Permissions:
    if identity == ADMIN:
        return Permissions(publish=(">",), subscribe=(">",))
    kind, _, name = identity.partition("/")
    if kind == "service":
        return _service(name)
    if f"{kind}/" in subjects.HOURS_REPORTERS:
        return _reporter(identity)
    raise NotPermitted(f"{identity!r} is not an identity this system knows")


def _service(name: str) -> Permissions:
    if name not in streams.SERVICES:
        raise NotPermitted(f"{name!r} is not a service")
    reads = (*CONSUMERS[name], *REPLAYS.get(name, ()))
    for read in reads:
        readers = CONFINED_STREAMS.get(read.stream.name)
        if readers is not None and name not in readers:
            raise NotPermitted(f"{read.stream.name} is readable by {', '.join(readers)} only")
    dead_letters = streams.dead_letter_stream(name)
    used_streams = sorted(
        {read.stream.name for read in reads} | {spec.name for spec in streams.owned_by(name)}
    )
    consumer_api = [
        api
        for read in reads
        for api in (
            f"{JS_API}.CONSUMER.CREATE.{read.stream.name}.{read.durable}.{read.filter_subject}",
            f"{JS_API}.CONSUMER.INFO.{read.stream.name}.{read.durable}",
            f"{JS_API}.CONSUMER.DELETE.{read.stream.name}.{read.durable}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{read.stream.name}.{read.durable}",
            f"$JS.ACK.{read.stream.name}.{read.durable}.>",
        )
    ]
    # The operators' dead-letter commands read, and remove, letters of the service's own.
    dead_letter_api = [
        f"{JS_API}.STREAM.MSG.GET.{dead_letters.name}",
        f"{JS_API}.DIRECT.GET.{dead_letters.name}",
        f"{JS_API}.STREAM.MSG.DELETE.{dead_letters.name}",
    ]
    return Permissions(
        publish=(
            *PUBLISHES[name],
            *dead_letters.subjects,
            *(f"{JS_API}.STREAM.INFO.{stream}" for stream in used_streams),
            *consumer_api,
            *dead_letter_api,
        ),
        subscribe=(f"{subjects.inbox_prefix(f'service/{name}')}.>",),
    )


def _reporter(source: str) -> Permissions:
    token = subjects.source_token(source)
    return Permissions(
        publish=(subjects.hours_logged_subject(source),),
        subscribe=(subjects.hours_rejected_subject(token), f"{subjects.inbox_prefix(source)}.>"),
    )


def service_identity(service: str) -> str:
    return f"service/{service}"
