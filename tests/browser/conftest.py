"""The directory's web page in a real browser: the service runs for real (uvicorn on a free
loopback port, a real nats-server, SQLite and PostgreSQL), seeded through its own APIs and
certification's events, and headless Chromium (Debian's `chromium`, driven by Playwright)
opens its pages. axe-core (tests/browser/package.json, `npm ci --prefix tests/browser`)
audits each page.

Without Chromium or axe-core the browser tests skip with the reason; under CI (or with
IPS_REQUIRE_BROWSER=1) they fail instead."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import uvicorn

from ips_directory.bootstrap import bootstrap
from ips_directory.db import tables
from ips_directory.settings import DirectorySettings
from ips_shared.auth import ApiToken, Role
from ips_shared.contracts import streams
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import CertificationStatus, CertificationStatusChanged
from ips_shared.messaging.streams import declare_streams

from ..conftest import _databases
from ..integration.harness import eventually, migrate_service, publish

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("IPS_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("IPS_REQUIRE_BROWSER") == "1"
)
TODAY = datetime(2027, 6, 15, 16, 0, tzinfo=UTC)
OPERATOR = "browser-operator-token"
AS_OPERATOR = {"authorization": f"Bearer {OPERATOR}"}
TOKENS = {"ops": ApiToken(sha256=hashlib.sha256(OPERATOR.encode()).hexdigest(), role=Role.OPERATOR)}
S = CertificationStatus


def missing_browser_parts() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make env)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not AXE.exists():
        return "axe-core is not installed (npm ci --prefix tests/browser)"
    return None


@pytest.fixture(scope="session")
def browser_parts() -> None:
    if (missing := missing_browser_parts()) is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"the browser tests are required here, but {missing}")
        pytest.skip(f"browser tests skipped: {missing}")


@pytest.fixture(scope="session")
async def browser(browser_parts: None) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--disable-gpu", "--disable-quic"]
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh tab, which obeys the page's Content-Security-Policy."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    yield tab
    await context.close()


@pytest.fixture(scope="session")
def axe_source(browser_parts: None) -> str:
    return AXE.read_text(encoding="utf-8")


# -- the service, running ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningApp:
    """The directory's HTTP app under uvicorn in a thread of its own."""

    def __init__(self, database_url: str, nats_url: str, public_rate_limit: str) -> None:
        settings = DirectorySettings(
            database_url=database_url,
            nats_url=nats_url,
            relay_poll_seconds=0.1,
            consumer_backoff_seconds=(0.2,),
            api_tokens=TOKENS,
            public_rate_limit=public_rate_limit,
        )
        self.service = bootstrap(settings, clock=lambda: TODAY)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.service.http_app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            log_config=None,  # the service's logging, not uvicorn's own
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="directory", daemon=True)

    def __enter__(self) -> RunningApp:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the directory app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def fresh_streams(nats_url: str) -> None:
    """Empty streams, as the `jetstream` fixture makes them (no other test's events)."""
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    for info in await js.streams_info():
        await js.delete_stream(info.config.name)
    await declare_streams(js, streams.ALL)
    await connection.close()


# -- what the site holds -------------------------------------------------------------------

CANARIES = (
    "Canary Name Zq7",
    "Canary County Zq7",
    "canary line zq7",
    "Canarese-zq7",
    "person-canary-zq7",
    "Unlisted Canary Xw4",
    "unlisted-person-xw4",
)
"""Values no page may show: the hidden fields of a listed profile, its person id, and a
whole profile its owner did not list."""

REGIONS = ("York", "Penobscot", "Cumberland")
CENTERS = [
    {
        "name": "Harbor Peer Center",
        "town": "Portland",
        "county": "Cumberland",
        "opening_hours": "Monday to Friday, 9 AM to 4 PM",
        "rooms": ["living room", "art room"],
    },
    {
        "name": "Lakeside Peer Center",
        "town": "Bangor",
        "county": "Penobscot",
        "opening_hours": "Tuesday to Saturday, 10 AM to 6 PM",
        "rooms": ["common area", "meeting room"],
    },
]


@dataclass
class Site:
    """A seeded directory: its address and what the tests may look for."""

    url: str
    kind: str
    listed: int
    numbers: dict[str, str] = field(default_factory=dict)
    centers: dict[str, str] = field(default_factory=dict)


def change(
    person: str, new: S, reason: str, on: date, number: str | None = None, **extra: Any
) -> CloudEvent[Any]:
    data = CertificationStatusChanged(
        person_id=person,
        old_status=None,
        new_status=new,
        reason_code=reason,
        effective_date=on,
        policy_version="2026-1",
        certificate_number=number,
        **extra,
    )
    return CloudEvent.wrap(data, source="service/certification", partition_key=person)


def certified(person: str, number: str, on: date = date(2026, 3, 1)) -> list[CloudEvent[Any]]:
    return [
        change(person, S.TRAINED, "training_completed", date(2025, 3, 1)),
        change(person, S.CERTIFIED, "first_year_met", on, number),
    ]


async def seed(client: httpx.AsyncClient, nats_url: str, kind: str) -> Site:
    """Specialists through the person API and certification's events on NATS; centers,
    groups and a group type through the operator API."""
    site = Site(url=str(client.base_url), kind=kind, listed=0)
    events: list[CloudEvent[Any]] = []

    async def profile(person: str, body: dict[str, Any]) -> None:
        answer = await client.put(f"/people/{person}/profile", json=body, headers=AS_OPERATOR)
        assert answer.status_code == 200, answer.text

    settings_cycle = ("warmline", "peer_center", "emergency_department", "community_outreach")
    for n in range(1, 23):  # 22 ordinary listings: two pages of 20
        person = f"peer-{n:02d}"
        await profile(
            person,
            {
                "listed": True,
                "shown": ["display_name", "region", "settings", "languages", "about"],
                "display_name": f"Alex Peer {n:02d}",
                "region": REGIONS[n % 3],
                "settings": [settings_cycle[n % 4]],
                "languages": ["English", "Spanish"] if n % 5 == 0 else ["English"],
                "about": "Evening warmline shifts" if n == 7 else "Peer support",
            },
        )
        events += certified(person, f"ME-2026-{n:03d}")
    site.listed = 22
    # At risk, still listed: valid through the end of its year, 1 July 2027.
    await profile(
        "peer-risk",
        {
            "listed": True,
            "shown": ["display_name", "region"],
            "display_name": "Jordan Risk",
            "region": "York",
        },
    )
    events += certified("peer-risk", "ME-2026-900", on=date(2026, 7, 1))
    events.append(
        change(
            "peer-risk",
            S.AT_RISK,
            "hours_short_near_year_end",
            date(2027, 5, 15),
            year_ends_on=date(2027, 7, 1),
        )
    )
    site.listed += 1
    site.numbers["at_risk"] = "ME-2026-900"
    # Lapsed: its listing is gone; verification says lapsed.
    await profile(
        "peer-lapsed",
        {
            "listed": True,
            "shown": ["display_name"],
            "display_name": "Casey Lapsed",
        },
    )
    events += certified("peer-lapsed", "ME-2026-901")
    events += [
        change("peer-lapsed", S.AT_RISK, "year_ended_unmet", date(2027, 3, 1)),
        change("peer-lapsed", S.LAPSED, "year_ended_unmet", date(2027, 3, 31)),
    ]
    site.numbers["lapsed"] = "ME-2026-901"
    # Listed, showing settings only: every other field holds a canary.
    await profile(
        "person-canary-zq7",
        {
            "listed": True,
            "shown": ["settings"],
            "settings": ["act_team"],
            "display_name": "Canary Name Zq7",
            "region": "Canary County Zq7",
            "languages": ["Canarese-zq7"],
            "about": "canary line zq7",
        },
    )
    events += certified("person-canary-zq7", "ME-2026-902")
    site.listed += 1
    # Certified but not listed at all.
    await profile(
        "unlisted-person-xw4",
        {
            "listed": False,
            "shown": ["display_name"],
            "display_name": "Unlisted Canary Xw4",
        },
    )
    events += certified("unlisted-person-xw4", "ME-2026-903")
    site.numbers["known"] = "ME-2026-001"
    site.numbers["unknown"] = "ME-2026-999"

    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    for event in events:
        await publish(js, event)
    await connection.close()

    async def applied() -> bool:
        answers = [
            await client.get(f"/certificates/{number}")
            for number in ("ME-2026-903", "ME-2026-901", "ME-2026-900")
        ]
        return [a.json().get("status") for a in answers if a.status_code == 200] == [
            "certified",
            "lapsed",
            "at_risk",
        ]

    await eventually(applied, timeout=30)
    assert (await client.get("/specialists")).json()["total"] == site.listed

    added = await client.put(
        "/group-types/hearing_voices", json={"label": "Hearing voices"}, headers=AS_OPERATOR
    )
    assert added.status_code == 200, added.text
    for center in CENTERS:
        answer = await client.post("/centers", json=center, headers=AS_OPERATOR)
        assert answer.status_code == 201, answer.text
        site.centers[center["name"]] = answer.json()["center_id"]
    harbor, lakeside = site.centers["Harbor Peer Center"], site.centers["Lakeside Peer Center"]
    for center_id, group in (
        (
            harbor,
            {
                "type_code": "art",
                "name": "Open studio",
                "description": "Paint, draw or just sit with others.",
                "meetings": [
                    {"weekday": "tuesday", "starts_at": "13:00", "ends_at": "15:00"},
                    {"weekday": "thursday", "starts_at": "13:00", "first_month": "2027-07"},
                ],
            },
        ),
        (
            harbor,
            {
                "type_code": "employment",
                "name": "Work and you",
                "meetings": [{"weekday": "monday", "starts_at": "10:00", "ends_at": "11:30"}],
            },
        ),
        (
            lakeside,
            {
                "type_code": "hearing_voices",
                "name": "Voices circle",
                "meetings": [{"weekday": "tuesday", "starts_at": "18:00"}],
            },
        ),
        (
            lakeside,
            {
                "type_code": "art",
                "name": "Lakeside art club",
                "meetings": [{"weekday": "saturday", "starts_at": "11:00"}],
            },
        ),
    ):
        answer = await client.post(f"/centers/{center_id}/groups", json=group, headers=AS_OPERATOR)
        assert answer.status_code == 201, answer.text
    return site


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def site(
    request: pytest.FixtureRequest,
    browser_parts: None,
    nats_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Site]:
    """The directory, seeded, on each database: one per module and database kind."""
    kind = str(request.param)
    for make in _databases(kind, request, tmp_path_factory.mktemp(f"directory-{kind}")):
        database_url = make()
        migrate_service(database_url, tables)
        await fresh_streams(nats_url)
        with RunningApp(database_url, nats_url, "100000/minute") as app:
            async with httpx.AsyncClient(base_url=app.url, timeout=10) as client:
                yield await seed(client, nats_url, kind)


@pytest.fixture
async def limited_app(
    browser_parts: None, nats_url: str, tmp_path: Path
) -> AsyncIterator[RunningApp]:
    """The directory with a public limit of 3 calls a minute (SQLite, nothing seeded)."""
    database_url = f"sqlite:///{tmp_path / 'limited.db'}"
    migrate_service(database_url, tables)
    connection = await nats.connect(nats_url)
    await declare_streams(connection.jetstream(), streams.ALL)
    await connection.close()
    with RunningApp(database_url, nats_url, "3/minute") as app:
        yield app


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where a test keeps its screenshots (one per page)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder
