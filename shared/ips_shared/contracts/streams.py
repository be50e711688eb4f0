"""JetStream stream definitions: the one place they live.

Each stream has exactly one owning service, which alone declares (creates or updates) it;
every other service binds to it without declaring, so no service can overwrite another's
settings by starting last.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from . import subjects

DUPLICATE_WINDOW_SECONDS = 120.0
DAY = 86_400.0


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    owner: str
    description: str
    max_age_seconds: float = 0.0  # 0 keeps events for as long as the stream exists
    latest_per_subject: bool = False  # keep only the newest message of each subject

    def config(self, replicas: int = 1) -> StreamConfig:
        """`replicas`: copies the cluster keeps (1 for `make run`, 3 in production)."""
        return StreamConfig(
            name=self.name,
            description=self.description,
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            max_age=self.max_age_seconds,
            max_msgs_per_subject=1 if self.latest_per_subject else -1,
            num_replicas=replicas,
        )


ENROLLMENT = StreamSpec(
    "ENROLLMENT",
    ("ips.enrollment.>",),
    "enrollment",
    "Peer Support 101, applications, cohorts and training attendance",
)
HOURS = StreamSpec(
    "HOURS",
    (f"{subjects.HOURS_LOGGED_PREFIX}.*", f"{subjects.HOURS_REJECTED_PREFIX}.*"),
    "certification",
    "Hours reported by trainers, OBH and partners, and the rejections",
)
CERTIFICATION = StreamSpec(
    "CERTIFICATION",
    ("ips.certification.>",),
    "certification",
    "Certification status changes and reviews",
)
CONTACTS = StreamSpec(
    "CONTACTS",
    (subjects.PERSON_CONTACT_ALL,),
    "enrollment",
    "Each person's current contact details (latest only); read by notifications alone",
    latest_per_subject=True,
)
NOTIFICATIONS = StreamSpec(
    "NOTIFICATIONS",
    ("ips.notifications.>",),
    "notifications",
    "Notification delivery outcomes",
)

SERVICES = ("enrollment", "certification", "notifications", "directory")


def dead_letter_stream(service: str) -> StreamSpec:
    """Each service owns the dead-letter stream its consumers write to."""
    return StreamSpec(
        f"DEADLETTER_{service.upper()}",
        (f"{subjects.DEAD_LETTER_PREFIX}.{service}.>",),
        service,
        f"Events {service} could not apply, with the reason",
        max_age_seconds=90 * DAY,
    )


ALL: tuple[StreamSpec, ...] = (
    ENROLLMENT,
    HOURS,
    CERTIFICATION,
    CONTACTS,
    NOTIFICATIONS,
    *(dead_letter_stream(service) for service in SERVICES),
)


def owned_by(service: str) -> tuple[StreamSpec, ...]:
    return tuple(spec for spec in ALL if spec.owner == service)


def senders(stream: StreamSpec, subject: str) -> tuple[str, ...]:
    """Who may send what a consumer reads from `subject` (a source, or a prefix ending in
    `/`): hours reports come from those who may report them, everything else from the
    service owning the stream."""
    if stream.name == HOURS.name and subject.startswith(f"{subjects.HOURS_LOGGED_PREFIX}."):
        return subjects.HOURS_REPORTERS
    return (f"service/{stream.owner}",)


def stream_for_subject(subject: str) -> StreamSpec:
    """The stream that captures a concrete subject."""
    for spec in ALL:
        for pattern in spec.subjects:
            if _matches(pattern, subject):
                return spec
    raise LookupError(f"no stream captures {subject}")


def _matches(pattern: str, subject: str) -> bool:
    pattern_tokens, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(pattern_tokens)
