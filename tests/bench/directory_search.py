"""Benchmark: the directory's public search and verification with 100,000 listed
specialists and 500 centers (issue 15, run 5), from an HTTP client on the same machine,
on SQLite and (with POSTGRES_URL) PostgreSQL.

    .venv/bin/python -m tests.bench.directory_search [--specialists 100000] [--queries 400]

The read model is seeded with SQL (certificates, profiles as `save_profile` writes them:
the shown fields' search text, region key, setting and language rows; centers and groups),
so the full-text indexes (FTS5 by its triggers, PostgreSQL's GIN index) fill as they do in
service. Then the real service (`ips-directory serve`'s app under uvicorn, in a subprocess)
answers a mix of searches and verifications over HTTP; the report gives p50 and p99 per
kind of request. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from statistics import quantiles

import httpx
import psycopg
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from embedded_nats import EmbeddedNats, free_port
from ips_directory.db import tables
from ips_directory.db.tables import (
    CenterRecord,
    CertificateRecord,
    GroupRecord,
    MeetingRecord,
    ProfileRecord,
    ProfileTerm,
)
from ips_directory.domain.profiles import Field, Profile, Setting, key
from ips_shared.contracts import streams
from ips_shared.messaging.streams import declare_streams

from ..integration.harness import migrate_service

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
FIRST = ("Robin", "Sam", "Alex", "Jordan", "Casey", "Morgan", "Riley", "Avery", "Quinn", "Drew")
LAST = ("Ash", "Birch", "Cedar", "Dale", "Elm", "Fern", "Glen", "Hale", "Ivy", "Jay")
COUNTIES = (
    "Androscoggin", "Aroostook", "Cumberland", "Franklin", "Hancock", "Kennebec", "Knox",
    "Lincoln", "Oxford", "Penobscot", "Piscataquis", "Sagadahoc", "Somerset", "Waldo",
    "Washington", "York",
)  # fmt: skip
LANGUAGES = ("English", "Spanish", "French", "Somali", "Arabic", "Portuguese")
ABOUT = ("warmline evenings", "youth outreach", "recovery groups", "art and wellness", "")
SETTINGS = tuple(Setting)
TODAY = date(2027, 6, 1)
BATCH = 5000


def profiles(count: int, rng: random.Random) -> Iterator[tuple[str, Profile]]:
    for n in range(count):
        shown = {Field.DISPLAY_NAME, Field.REGION, Field.SETTINGS, Field.LANGUAGES}
        about = rng.choice(ABOUT)
        if about:
            shown.add(Field.ABOUT)
        yield (
            f"p-{n}",
            Profile(
                listed=True,
                display_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}{n % 97}",
                region=rng.choice(COUNTIES),
                settings=tuple(rng.sample(SETTINGS, rng.randint(1, 3))),
                languages=tuple(rng.sample(LANGUAGES, rng.randint(1, 2))),
                about=about or None,
                shown=frozenset(shown),
            ),
        )


def seed(database_url: str, specialists: int, centers: int, rng: random.Random) -> None:
    migrate_service(database_url, tables)
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    certificates, rows, terms = [], [], []
    with engine.begin() as connection:
        for number, (person, profile) in enumerate(profiles(specialists, rng), start=1):
            certificates.append(
                {
                    "person_id": person,
                    "number": f"ME-2026-{number}",
                    "status": "certified" if number % 10 else "at_risk",
                    "status_since": date(2026, 6, 1),
                    "certified_since": date(2026, 6, 1),
                    "anniversary": date(2026, 6, 1),
                    "event_id": f"e-{number}",
                    "changed_at": now,
                }
            )
            public = profile.public()
            rows.append(
                {
                    "id": number,
                    "person_id": person,
                    "listed": True,
                    "display_name": profile.display_name,
                    "region": profile.region,
                    "settings": json.dumps([str(s) for s in profile.settings]),
                    "languages": json.dumps(list(profile.languages)),
                    "about": profile.about,
                    "shown": json.dumps(sorted(str(f) for f in profile.shown)),
                    "search_text": public.search_text(),
                    "region_key": public.region_key(),
                    "name_key": key(public.display_name or ""),
                    "changed_at": now,
                    "changed_by": "bench",
                }
            )
            shown_terms = [("setting", str(s)) for s in public.settings]
            shown_terms += [("language", k) for k in public.language_keys()]
            terms += [{"profile_id": number, "kind": k, "value": v} for k, v in shown_terms]
            if len(rows) >= BATCH:
                _flush(connection, certificates, rows, terms)
        _flush(connection, certificates, rows, terms)
        center_rows = [
            {
                "id": n,
                "center_id": f"c{n}",
                "name": f"{COUNTIES[n % len(COUNTIES)]} Peer Center {n}",
                "town": f"Town {n}",
                "county": COUNTIES[n % len(COUNTIES)],
                "county_key": key(COUNTIES[n % len(COUNTIES)]),
                "opening_hours": "Mon-Fri 9-4",
                "rooms": "[]",
                "ages_served": "18 and over",
                "no_referral_or_insurance_needed": True,
                "search_text": f"{COUNTIES[n % len(COUNTIES)]} Peer Center {n} Town {n}",
            }
            for n in range(1, centers + 1)
        ]
        connection.execute(insert(CenterRecord), center_rows)
        groups = [
            {
                "id": n,
                "group_id": f"g{n}",
                "center_id": f"c{1 + n % centers}",
                "type_code": rng.choice(("art", "peer_support", "employment", "substance_use")),
                "name": f"Group {n}",
                "description": "",
                "search_text": f"Group {n}",
            }
            for n in range(1, 4 * centers + 1)
        ]
        connection.execute(insert(GroupRecord), groups)
        meetings = [
            {
                "group_id": f"g{n}",
                "position": 1,
                "weekday": rng.choice(("monday", "wednesday", "friday")),
                "starts_at": datetime(2027, 1, 1, 18).time(),
            }
            for n in range(1, 4 * centers + 1)
        ]
        connection.execute(insert(MeetingRecord), meetings)
    with engine.connect() as connection:  # the statistics autovacuum would gather in service
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    engine.dispose()


def _flush(connection: object, certificates: list, rows: list, terms: list) -> None:  # type: ignore[type-arg]
    if rows:
        connection.execute(insert(CertificateRecord), certificates)  # type: ignore[attr-defined]
        connection.execute(insert(ProfileRecord), rows)  # type: ignore[attr-defined]
        connection.execute(insert(ProfileTerm), terms)  # type: ignore[attr-defined]
    certificates.clear()
    rows.clear()
    terms.clear()


def requests(specialists: int, rng: random.Random) -> Iterator[tuple[str, str]]:
    """(kind, path): what the public asks, mixed."""
    while True:
        yield rng.choice(
            (
                ("text", f"/specialists?q={rng.choice(FIRST)}"),
                ("text+county", f"/specialists?q={rng.choice(LAST)}&region={rng.choice(COUNTIES)}"),
                (
                    "setting+language",
                    f"/specialists?setting={rng.choice(SETTINGS)}&language={rng.choice(LANGUAGES)}",
                ),
                ("page 20", f"/specialists?region={rng.choice(COUNTIES)}&page=20"),
                ("verify", f"/certificates/ME-2026-{rng.randint(1, specialists)}"),
                ("centers", f"/centers?q=peer&county={rng.choice(COUNTIES)}"),
                ("groups", f"/groups?type=art&day={rng.choice(('monday', 'friday'))}"),
                ("page /", f"/search/specialists?q={rng.choice(FIRST)}"),
            )
        )


def measure(database_url: str, nats_url: str, specialists: int, queries: int) -> dict[str, object]:
    port = free_port()
    environment = {
        **os.environ,
        "DIRECTORY_DATABASE_URL": database_url,
        "DIRECTORY_NATS_URL": nats_url,
        "DIRECTORY_HTTP_PORT": str(port),
        "DIRECTORY_PUBLIC_RATE_LIMIT": "1000000/minute",
        "DIRECTORY_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "ips-directory"), "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            rng = random.Random(7)
            asked = requests(specialists, rng)
            for _ in range(30):  # warm the caches and the connection
                client.get(next(asked)[1])
            timings: dict[str, list[float]] = {}
            for _ in range(queries):
                kind, path = next(asked)
                began = time.perf_counter()
                answer = client.get(path)
                elapsed = (time.perf_counter() - began) * 1000
                assert answer.status_code == 200, (path, answer.status_code)
                timings.setdefault(kind, []).append(elapsed)
        rss = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "per_kind_ms": {
            kind: {"n": len(values), "p50": _q(values, 50), "p99": _q(values, 99)}
            for kind, values in sorted(timings.items())
        },
        "all_ms": {
            "p50": _q([v for vs in timings.values() for v in vs], 50),
            "p99": _q([v for vs in timings.values() for v in vs], 99),
        },
        "service_rss_mb": rss,
    }


def _q(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return round(values[0], 1) if values else 0.0
    return round(quantiles(values, n=100, method="inclusive")[percent - 1], 1)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main(specialists: int, centers: int, queries: int) -> None:
    results: dict[str, object] = {"specialists": specialists, "centers": centers}
    with tempfile.TemporaryDirectory() as folder:
        nats_server = EmbeddedNats(Path(folder) / "nats")
        nats_server.start()
        try:
            import asyncio

            import nats

            async def provision() -> None:
                connection = await nats.connect(nats_server.url)
                await declare_streams(connection.jetstream(), streams.ALL)
                await connection.close()

            asyncio.run(provision())
            databases = {"sqlite": f"sqlite:///{folder}/directory.db"}
            server = os.environ.get("POSTGRES_URL")
            name = f"ips_bench_{uuid.uuid4().hex[:8]}"
            if server:
                admin = make_url(server).set(drivername="postgresql").render_as_string(False)
                with psycopg.connect(admin, autocommit=True) as connection:
                    connection.execute(f'CREATE DATABASE "{name}"')
                databases["postgresql"] = str(make_url(server).set(database=name))
            try:
                for kind, url in databases.items():
                    began = time.monotonic()
                    seed(url, specialists, centers, random.Random(11))
                    seeded = round(time.monotonic() - began, 1)
                    measured = measure(url, nats_server.url, specialists, queries)
                    results[kind] = {"seed_seconds": seeded, **measured}
                    print(f"{kind}: {json.dumps(results[kind])}", flush=True)
            finally:
                if server:
                    with psycopg.connect(admin, autocommit=True) as connection:
                        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            nats_server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"directory-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--specialists", type=int, default=100_000)
    parser.add_argument("--centers", type=int, default=500)
    parser.add_argument("--queries", type=int, default=400)
    arguments = parser.parse_args()
    main(arguments.specialists, arguments.centers, arguments.queries)
