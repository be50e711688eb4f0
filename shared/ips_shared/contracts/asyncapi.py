"""The AsyncAPI 3.0 document of a service, built from what it really sends and receives.

Each channel carries one structured-mode CloudEvent per NATS message: the payload is the
envelope with that event as `data`, and the `Nats-Msg-Id` header carries the event id.
A subject wildcard becomes the channel parameter `source_id` (the reporting party's
token), or `person_digest` on a person's contact subject. The document is generated from
the contracts and the service's consumers, and a test validates real messages taken from
the streams against the committed documents."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from . import subjects
from .envelope import MSG_ID_HEADER, CloudEvent, EventPayload
from .schemas import inline_refs

ASYNCAPI_VERSION = "3.0.0"
CONTENT_TYPE = "application/cloudevents+json"
SOURCE_PARAMETER = "source_id"
SOURCE_DESCRIPTION = (
    "The reporting party's token: a partner's id, or `service-<name>` / `trainer-<id>` for "
    "internal sources."
)
# Wildcards that stand for something other than a source, by the subject's prefix.
PARAMETERS = {
    subjects.PERSON_CONTACT_PREFIX: (
        "person_digest",
        "The first 32 hexadecimal digits of the SHA-256 digest of the person's id: one "
        "subject per person, with no id in it.",
    )
}
EVENT_ID = (
    "The event `id`: JetStream drops a re-send within the stream's duplicate window, and "
    "consumers' inboxes drop any later one."
)
SOURCE_AND_EVENT_ID = (
    "`<source_id>:<id>`: the sender's id and the event `id`. JetStream drops a repeated "
    "message id within the stream's two-minute duplicate window across all senders, so the "
    "sender's id keeps two partners' event ids apart; after the window, the consumer's "
    "inbox drops a re-send (it keys on `source` and `id`, whatever the header)."
)


def headers_schema(msg_id: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            MSG_ID_HEADER: {
                "type": "string",
                "minLength": 1,
                "maxLength": 256,
                "description": msg_id,
            },
            # W3C Trace Context (`ips_shared.tracing`): optional, a partner need not send it.
            "traceparent": {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}",
                "description": "W3C Trace Context: the trace and span the event belongs to"
                " (the services set it when the event was emitted within a trace)",
            },
            "tracestate": {
                "type": "string",
                "maxLength": 512,
                "description": "W3C Trace Context: vendor-specific trace state, with traceparent",
            },
        },
        "required": [MSG_ID_HEADER],
    }


@dataclass(frozen=True)
class ChannelUse:
    """A subject a service sends or receives, and the events it carries there."""

    name: str
    subject: str
    events: tuple[type[EventPayload], ...]
    action: Literal["send", "receive"]
    description: str | None = None
    msg_id: str = EVENT_ID  # what senders put in `Nats-Msg-Id`


def message_name(model: type[EventPayload]) -> str:
    return f"{model.event_type}.v{model.schema_version}"


def parameter(subject: str) -> tuple[str, str]:
    """The name and description of the parameter a subject's wildcard stands for."""
    for prefix, named in PARAMETERS.items():
        if subject.startswith(f"{prefix}."):
            return named
    return SOURCE_PARAMETER, SOURCE_DESCRIPTION


def address(subject: str) -> str:
    """`ips.hours.logged.*` -> `ips.hours.logged.{source_id}`."""
    name, _ = parameter(subject)
    return ".".join(f"{{{name}}}" if token == "*" else token for token in subject.split("."))


def document(
    title: str, version: str, description: str, uses: Iterable[ChannelUse]
) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for use in sorted(uses, key=lambda use: (use.action, use.name)):
        channel: dict[str, Any] = {
            "address": address(use.subject),
            "messages": {
                message_name(model): {"$ref": f"#/components/messages/{message_name(model)}"}
                for model in use.events
            },
        }
        if "*" in use.subject:
            parameter_name, meaning = parameter(use.subject)
            channel["parameters"] = {parameter_name: {"description": meaning}}
        if use.description:
            channel["description"] = use.description
        channels[use.name] = channel
        operations[f"{use.name}.{use.action}"] = {
            "action": use.action,
            "channel": {"$ref": f"#/channels/{use.name}"},
            "messages": [
                {"$ref": f"#/channels/{use.name}/messages/{message_name(model)}"}
                for model in use.events
            ],
        }
        for model in use.events:
            name = message_name(model)
            schemas[name] = inline_refs(CloudEvent[model].model_json_schema())  # type: ignore[valid-type]
            messages[name] = {
                "name": model.event_type,
                "title": f"{model.event_type} (schema version {model.schema_version})",
                "summary": inspect.cleandoc(model.__doc__ or model.event_type),
                "contentType": CONTENT_TYPE,
                "headers": headers_schema(use.msg_id),
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "correlationId": {"location": "$message.payload#/correlationid"},
            }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": title, "version": version, "description": description},
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
