"""The committed AsyncAPI documents describe what is really on the wire: real messages,
produced by the running services and a partner, are taken from the streams for every
channel of every document and validated, payload and headers, against it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from dateutil.relativedelta import relativedelta
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from ips_certification.bootstrap import bootstrap as bootstrap_certification
from ips_certification.commands import ImportCertificate
from ips_certification.db import tables as certification_tables
from ips_certification.domain.certificates import CertificateRow
from ips_certification.settings import CertificationSettings
from ips_enrollment.bootstrap import bootstrap as bootstrap_enrollment
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_notifications.bootstrap import bootstrap as bootstrap_notifications
from ips_notifications.db import tables as notification_tables
from ips_notifications.settings import NotificationsSettings
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import HoursCategory, HoursLogged

from .enrollment_flow import OPERATOR, TOKENS, TRAINER, Enrollment
from .harness import eventually, migrate_service

HOUR = timedelta(hours=1)
DOCUMENTS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


def channel_pattern(address: str) -> re.Pattern[str]:
    """`ips.hours.logged.{source_id}` matches one subject token per parameter."""
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^.]+", re.escape(address)) + "$")


def resolve(document: dict[str, Any], reference: str) -> Any:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


def violations(document: dict[str, Any], channel: dict[str, Any], message: Msg) -> list[str]:
    """Why this message is not one the channel describes (empty when it is)."""
    body = json.loads(message.data)
    described = [resolve(document, ref["$ref"]) for ref in channel["messages"].values()]
    matching = [spec for spec in described if spec["name"] == body.get("type")]
    if not matching:
        return [f"{message.subject}: type {body.get('type')!r} is not described"]
    [spec] = matching
    problems = []
    for instance, schema in (
        (body, resolve(document, spec["payload"]["$ref"])),
        (dict(message.headers or {}), spec["headers"]),
    ):
        validator = jsonschema.Draft202012Validator(schema)
        problems += [
            f"{message.subject}: {error.message}" for error in validator.iter_errors(instance)
        ]
    return problems


async def all_messages(js: JetStreamContext) -> list[Msg]:
    found = []
    for stream in (
        streams.ENROLLMENT,
        streams.HOURS,
        streams.CERTIFICATION,
        streams.CONTACTS,
        streams.NOTIFICATIONS,
    ):
        info = await js.stream_info(stream.name)
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                found.append(await js.get_msg(stream.name, sequence))
            except NotFoundError:  # CONTACTS keeps the latest per subject only
                continue
    return found


async def produce_every_kind_of_message(
    js: JetStreamContext, flow: Enrollment, certification: Any, client: httpx.AsyncClient
) -> str:
    """Drive the services (and a partner) so that every channel carries a message."""
    people = [await flow.person(name=f"Peer {n}") for n in range(3)]
    for person in people:
        await flow.ps101_done(person)
    applications = [await flow.apply(person) for person in people]
    cohort = applications[0]["intake"]
    await flow.ok("PUT", f"/cohorts/{cohort}/capacity", capacity=1)
    starts = datetime.now(UTC).replace(microsecond=0)
    day = {"day": 1, "starts_at": starts.isoformat(), "ends_at": (starts + HOUR).isoformat()}
    await flow.ok("PUT", f"/cohorts/{cohort}/schedule", place="Augusta", days=[day])
    first, second, third = (application["application_id"] for application in applications)
    await flow.ok("POST", f"/applications/{first}/accept")
    await flow.ok("POST", f"/applications/{second}/accept")  # full: waitlisted
    await flow.ok("POST", f"/applications/{third}/decline", reason_code="incomplete")
    await flow.ok("POST", f"/applications/{second}/withdraw")
    trained, first_day = people[0], date.today() - timedelta(days=20)
    for day in range(1, 9):
        await flow.ok(
            "POST",
            f"/cohorts/{cohort}/attendance",
            TRAINER,
            person_id=trained,
            day=day,
            attended_on=(first_day + timedelta(days=day - 1)).isoformat(),
        )

    async def known_to_certification() -> bool:
        answer = await client.get(
            f"/people/{trained}/status", headers={"authorization": f"Bearer {OPERATOR}"}
        )
        return answer.status_code == 200

    await eventually(known_to_certification, timeout=30)
    counted = None
    for person in (trained, "nobody-known"):  # one counted, one answered HoursRejected
        report = CloudEvent.wrap(
            HoursLogged(
                person_id=person,
                category=HoursCategory.SKILL_BUILDING,
                hours=Decimal("1.5"),
                activity_date=date.today(),
            ),
            source="partner/smhc",
            partition_key=person,
        )
        msg_id = f"smhc:{report.id}"  # the partner contract's message id
        await js.publish(report.nats_subject, report.to_json(), headers={MSG_ID_HEADER: msg_id})
        counted = counted or report
    assert counted is not None
    operator = {"authorization": f"Bearer {OPERATOR}"}

    async def voided() -> bool:  # once counted, an operator voids it (HoursVoided)
        answer = await client.post(
            f"/hours/{counted.id}/void", json={"reason": "reported twice"}, headers=operator
        )
        return answer.status_code == 200

    await eventually(voided, timeout=30)
    reviewed = await client.post(
        f"/people/{trained}/reviews",
        json={"reviewed_on": date.today().isoformat(), "outcome": "affirmed", "reason": "annual"},
        headers={"authorization": f"Bearer {OPERATOR}"},
    )
    assert reviewed.status_code == 201, reviewed.text
    # Certified 23 months ago: the review falls due within the notice period (ReviewDue).
    certified_on = date.today() - relativedelta(months=23)
    row = CertificateRow(
        person_id="me-old", certificate_number="ME-2025-1", certified_on=certified_on
    )
    certification.bus.handle(ImportCertificate(row=row, file_name="wire.csv"))
    return trained


async def test_every_channel_carries_what_its_committed_document_describes(
    jetstream: JetStreamContext, new_database: Callable[[], str], nats_url: str, mail_sink: Any
) -> None:
    databases = {name: new_database() for name in ("enrollment", "certification", "notifications")}
    migrate_service(databases["enrollment"], enrollment_tables)
    migrate_service(databases["certification"], certification_tables)
    migrate_service(databases["notifications"], notification_tables)
    common = {"nats_url": nats_url, "relay_poll_seconds": 0.1, "api_tokens": TOKENS}
    enrollment = bootstrap_enrollment(
        EnrollmentSettings(database_url=databases["enrollment"], **common)
    ).http_app()
    certification = bootstrap_certification(
        CertificationSettings(database_url=databases["certification"], **common)
    )
    certification_app = certification.http_app()
    mail_sink.fail_next(1, 451)  # one NotificationFailed (to be retried), then delivered
    notifications = bootstrap_notifications(
        NotificationsSettings(
            database_url=databases["notifications"],
            nats_url=nats_url,
            relay_poll_seconds=0.1,
            smtp_host=mail_sink.host,
            smtp_port=mail_sink.port,
            delivery_retry_seconds=(0.2,),
        )
    ).http_app()
    documents = {path.stem: json.loads(path.read_text()) for path in DOCUMENTS.glob("*.json")}
    channels = [
        (service, name, channel)
        for service, document in documents.items()
        for name, channel in document["channels"].items()
    ]
    async with AsyncExitStack() as stack:
        for app in (enrollment, certification_app, notifications):
            await stack.enter_async_context(app.router.lifespan_context(app))
        enrollment_client, certification_client = [
            await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://service")
            )
            for app in (enrollment, certification_app)
        ]
        await produce_every_kind_of_message(
            jetstream, Enrollment(enrollment_client), certification, certification_client
        )

        async def every_channel_carries_a_message() -> bool:
            subjects = {message.subject for message in await all_messages(jetstream)}
            return all(
                any(channel_pattern(channel["address"]).match(subject) for subject in subjects)
                for _, _, channel in channels
            )

        await eventually(every_channel_carries_a_message, timeout=30)

    messages = await all_messages(jetstream)
    problems: list[str] = []
    checked = 0
    for service, name, channel in channels:
        pattern = channel_pattern(channel["address"])
        for message in [m for m in messages if pattern.match(m.subject)]:
            checked += 1
            problems += [
                f"{service}/{name}: {p}" for p in violations(documents[service], channel, message)
            ]
    assert not problems, "\n".join(problems)
    assert checked >= len(channels)
    types = {json.loads(message.data)["type"] for message in messages}
    described = {
        spec["name"]
        for document in documents.values()
        for spec in document["components"]["messages"].values()
    }
    assert described <= types, f"no message seen for {sorted(described - types)}"
