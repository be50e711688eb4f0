"""The system on a secured nats-server, as `make run` starts it: enrollment and
certification run with their own identities, a partner with its own. What the services
need they can do (readiness, a training completed and certified, hours answered); the
forged-certification path a hostile client took before the identities existed fails at
every step: no connection without credentials, a partner cannot publish enrollment's
events, and a partner posing as someone else on its own subject is refused by the
ledger's consumer."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import date, timedelta
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest

from ips_certification.bootstrap import bootstrap as bootstrap_certification
from ips_certification.db import tables as certification_tables
from ips_certification.settings import CertificationSettings
from ips_enrollment.bootstrap import bootstrap as bootstrap_enrollment
from ips_enrollment.db import tables as enrollment_tables
from ips_enrollment.settings import EnrollmentSettings
from ips_shared.contracts.envelope import MSG_ID_HEADER, CloudEvent
from ips_shared.contracts.events import HoursLogged, TrainingCompleted

from .enrollment_flow import OPERATOR, TOKENS, TRAINER, Enrollment
from .harness import eventually, migrate_service
from .secured_nats import start_secured

FORGED_PERSON = "p-forged"


def hours(person_id: str, source: str, amount: str = "2.5") -> CloudEvent[HoursLogged]:
    return CloudEvent.wrap(
        HoursLogged(
            person_id=person_id,
            category="volunteer_service",
            hours=amount,
            activity_date=date.today() - timedelta(days=1),
        ),
        source=source,
        partition_key=person_id,
    )


async def test_services_work_with_their_identities_and_forgery_fails(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    secured = await start_secured(tmp_path)
    enrollment_db, certification_db = new_database(), new_database()
    migrate_service(enrollment_db, enrollment_tables)
    migrate_service(certification_db, certification_tables)

    def common(service: str) -> dict[str, object]:
        return {
            "nats_url": secured.url,
            "nats_credentials": secured.credentials_file(f"service/{service}"),
            "relay_poll_seconds": 0.1,
            "stream_wait_seconds": 5,
            "api_tokens": TOKENS,
        }

    enrollment = bootstrap_enrollment(
        EnrollmentSettings(database_url=enrollment_db, **common("enrollment"))
    ).http_app()
    certification = bootstrap_certification(
        CertificationSettings(database_url=certification_db, **common("certification"))
    ).http_app()
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(enrollment.router.lifespan_context(enrollment))
            await stack.enter_async_context(certification.router.lifespan_context(certification))
            enrollment_client, certification_client = [
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://svc")
                )
                for app in (enrollment, certification)
            ]
            for client in (enrollment_client, certification_client):
                assert (await client.get("/readyz")).json()["ready"] is True

            # 1. No credentials: no connection at all.
            with pytest.raises(nats.errors.Error, match="Authorization Violation"):
                await nats.connect(secured.url, allow_reconnect=False)

            partner = await stack.enter_async_context(secured.connected_as("partner/mmc"))
            answers = await partner.connection.subscribe("ips.hours.rejected.mmc")
            js = partner.connection.jetstream()

            # 2. A partner publishing enrollment's fact: refused by the server, stored nowhere.
            forged = CloudEvent.wrap(
                TrainingCompleted(
                    person_id=FORGED_PERSON, cohort_id="c-1", completed_on=date.today()
                ),
                source="service/enrollment",
                partition_key=FORGED_PERSON,
            )
            assert await partner.refused(
                lambda: js.publish(forged.nats_subject, forged.to_json(), timeout=0.5),
                forged.nats_subject,
            )

            # 3. On its own subject, posing as a trainer: the ledger's consumer refuses it.
            posing = hours(FORGED_PERSON, "trainer/t1")
            await js.publish(
                "ips.hours.logged.mmc", posing.to_json(), headers={MSG_ID_HEADER: posing.id}
            )

            # The real path works under the identities: enrollment's training completion
            # reaches certification, whose status changes.
            flow = Enrollment(enrollment_client)
            person = await flow.person()
            await flow.ps101_done(person)
            application = await flow.apply(person)
            await flow.ok("POST", f"/applications/{application['application_id']}/accept")
            first_day = date.today() - timedelta(days=20)
            for day in range(1, 9):
                await flow.ok(
                    "POST",
                    f"/cohorts/{application['intake']}/attendance",
                    TRAINER,
                    person_id=person,
                    day=day,
                    attended_on=(first_day + timedelta(days=day - 1)).isoformat(),
                )

            async def status_of(person_id: str) -> int:
                answer = await certification_client.get(
                    f"/people/{person_id}/status",
                    headers={"authorization": f"Bearer {OPERATOR}"},
                )
                return answer.status_code

            async def known_to_certification() -> bool:
                return await status_of(person) == 200

            await eventually(known_to_certification, timeout=30)

            # The partner reports for that person (accepted, no answer) and for one the
            # system never heard of (answered on its own subject).
            accepted, unknown = hours(person, "partner/mmc"), hours("p-nobody", "partner/mmc")
            for event in (accepted, unknown):
                await js.publish(
                    event.nats_subject, event.to_json(), headers={MSG_ID_HEADER: event.id}
                )
            rejected = [json.loads((await answers.next_msg(timeout=15)).data) for _ in range(2)]
            by_report = {answer["data"]["rejected_event_id"]: answer for answer in rejected}
            assert set(by_report) == {posing.id, unknown.id}
            assert by_report[unknown.id]["data"]["reason_code"] == "unknown_person"
            assert by_report[posing.id]["data"]["reason_code"] == "source_mismatch"

            # The forged person is unknown to certification: never certified.
            assert await status_of(FORGED_PERSON) == 404
            assert len(partner.errors) == 1  # step 2's refusal, nothing else
    finally:
        secured.server.stop()
