"""The operator's daily work in certification, through a real nats-server, on SQLite and
PostgreSQL: the worklist, people, refused reports, certificates and the statewide report's
part, each paginated, filtered, operator-only and exported as CSV with the same filters.

Six people live through three years of the calendar (the scheduler's clock is turned, as
in `test_certification_status`), seen on 2028-02-01:
- p-rev: certified 2026-01-15, a review held 2026-03-01, so one falls due 2028-03-01;
- p-risk: certified 2027-03-10, no hours since: at risk, its year ends 2028-03-10;
- p-lapsed: certified 2026-09-01, its first year unkept: lapsed since 2027-10-01;
- p-first: trained 2027-03-20, its first year short of skill-building hours;
- p-first-met and p-ok: all kept (on no list).
Their training completions name their regions (`REGIONS`, spelt in more than one case),
but for p-first-met's, sent before the contract carried it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from nats.js import JetStreamContext

from ips_certification.db import tables
from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import TrainingCompleted

from .harness import eventually, rows
from .test_certification_status import CE, SB, Certification

# The status tests' running service with its turning calendar, as a fixture.
from .test_certification_status import certification as certification
from .test_hours_ledger import hours, send

TODAY = date(2028, 2, 1)
OPERATOR_ONLY = (
    "/worklist",
    "/people",
    "/hours/refused",
    "/certificates",
    "/reports/summary?from=2027-01-01&to=2027-12-31",
)
REGIONS = {
    "p-rev": "Kennebec",
    "p-risk": "kennebec",
    "p-lapsed": "Cumberland",
    "p-ok": "Cumberland",
    "p-first": "York",
}


def completed(
    person_id: str, cohort_id: str, on: date, region: str | None = None
) -> CloudEvent[TrainingCompleted]:
    event = TrainingCompleted(
        person_id=person_id, cohort_id=cohort_id, completed_on=on, region=region
    )
    return CloudEvent.wrap(event, source="service/enrollment", partition_key=person_id)


async def train(c: Certification, js: JetStreamContext, cohort: str, *people: str) -> None:
    for person_id in people:
        await send(js, completed(person_id, cohort, c.calendar.today, REGIONS.get(person_id)))
    await eventually(
        lambda: (
            set(people)
            <= {s.person_id for s in rows(c.database_url, tables.StandingRow) if s.status}
        )
    )


async def log(c: Certification, js: JetStreamContext, *reports: CloudEvent[Any]) -> None:
    before = len(rows(c.database_url, tables.HoursEntry))
    for report in reports:
        await send(js, report)
    await eventually(lambda: len(rows(c.database_url, tables.HoursEntry)) == before + len(reports))


async def three_years(c: Certification, js: JetStreamContext) -> None:
    c.calendar.today = date(2025, 1, 15)
    await train(c, js, "2024-fall", "p-rev")
    await c.report_year(js, "p-rev", c.calendar.today)
    await c.turn_to(date(2025, 9, 1))
    await train(c, js, "2025-summer", "p-lapsed")
    await c.report_year(js, "p-lapsed", c.calendar.today)
    await c.turn_to(date(2026, 1, 20))
    await c.report_year(js, "p-rev", c.calendar.today)
    await c.turn_to(date(2026, 3, 10))
    review = await c.call(
        "POST",
        "/people/p-rev/reviews",
        "op",
        reviewed_on="2026-03-01",
        outcome="affirmed",
        reason="review held",
    )
    assert review.status_code == 201, review.text
    await train(c, js, "2026-spring", "p-risk", "p-ok")
    for person_id in ("p-risk", "p-ok"):
        await c.report_year(js, person_id, c.calendar.today)
    await c.turn_to(date(2027, 1, 20))
    await c.report_year(js, "p-rev", c.calendar.today)
    await c.turn_to(date(2027, 3, 20))
    await c.report_year(js, "p-ok", c.calendar.today)
    await train(c, js, "2026-fall", "p-first", "p-first-met")
    await c.report_year(js, "p-first-met", c.calendar.today)
    await log(c, js, hours("p-first", "8", category=CE, on=c.calendar.today, source="trainer/t-1"))
    await c.turn_to(TODAY)


async def get(c: Certification, path: str, token: str = "op") -> Any:
    answer = await c.call("GET", path, token)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def csv_rows(c: Certification, path: str) -> list[dict[str, str]]:
    answer = await c.call("GET", path, "op")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_the_worklist_names_who_needs_outreach_for_what_sorted_by_days_left(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    c = certification
    await three_years(c, jetstream)
    listed = await get(c, "/worklist")
    assert listed["total"] == 4
    assert [
        (row["person_id"], row["category"], row["status"], row["days_left"])
        for row in listed["items"]
    ] == [
        ("p-rev", "review_due", "certified", 29),
        ("p-risk", "at_risk", "at_risk", 38),
        ("p-first", "first_year_unmet", "trained", 48),
        ("p-lapsed", "lapsed", "lapsed", None),
    ]
    by_person = {row["person_id"]: row for row in listed["items"]}
    assert by_person["p-rev"]["missing"] == [
        {"requirement": "review", "missing": "1", "unit": "review"}
    ]
    assert by_person["p-rev"]["due_on"] == "2028-03-01"
    assert [(m["requirement"], Decimal(m["missing"])) for m in by_person["p-risk"]["missing"]] == [
        ("continuing_education", 8),
        ("skill_building", 12),
    ]
    assert by_person["p-risk"]["due_on"] == "2028-03-10"  # the year's end
    assert [(m["requirement"], Decimal(m["missing"])) for m in by_person["p-first"]["missing"]] == [
        ("skill_building", 12)
    ]
    # Lapsed: since when, and what would reinstate them (the unkept year's hours).
    assert by_person["p-lapsed"]["since"] == "2027-10-01"
    assert {m["requirement"] for m in by_person["p-lapsed"]["missing"]} == {
        "continuing_education",
        "skill_building",
    }

    # Sorting the other way keeps those without days left last; by person on request.
    descending = await get(c, "/worklist?sort=-days_left")
    assert [row["person_id"] for row in descending["items"]] == [
        "p-first",
        "p-risk",
        "p-rev",
        "p-lapsed",
    ]
    by_id = await get(c, "/worklist?sort=person_id")
    assert [row["person_id"] for row in by_id["items"]] == sorted(by_person)

    # Filters: category (repeatable) and cohort; pages.
    two = await get(c, "/worklist?category=at_risk&category=lapsed")
    assert [row["person_id"] for row in two["items"]] == ["p-risk", "p-lapsed"]
    fall = await get(c, "/worklist?cohort=2026-fall")
    assert [row["person_id"] for row in fall["items"]] == ["p-first"]
    assert (await get(c, "/worklist?cohort=2099-spring"))["total"] == 0
    assert {row["person_id"]: row["region"] for row in listed["items"]} == {
        person_id: REGIONS[person_id] for person_id in by_person
    }
    # Region: as the training completion named it, whatever the case.
    kennebec = await get(c, "/worklist?region=KENNEBEC")
    assert [(row["person_id"], row["region"]) for row in kennebec["items"]] == [
        ("p-rev", "Kennebec"),
        ("p-risk", "kennebec"),
    ]
    assert [row["person_id"] for row in (await get(c, "/worklist?region=york"))["items"]] == [
        "p-first"
    ]
    both = await get(c, "/worklist?region=kennebec&category=at_risk&cohort=2026-spring")
    assert [row["person_id"] for row in both["items"]] == ["p-risk"]
    assert (await get(c, "/worklist?region=Kennebec&cohort=2026-fall"))["total"] == 0
    assert (await get(c, "/worklist?region=Aroostook"))["total"] == 0
    pages = [await get(c, f"/worklist?page={n}&page_size=3") for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [3, 1, 0]
    assert {p["total"] for p in pages} == {4}
    assert [r["person_id"] for p in pages for r in p["items"]] == [
        r["person_id"] for r in listed["items"]
    ]

    # The CSV export: every matching row, the same filters and order.
    exported = await csv_rows(c, "/worklist?format=csv&page_size=1&category=at_risk")
    assert [(r["person_id"], r["days_left"], r["missing"]) for r in exported] == [
        ("p-risk", "38", "continuing_education 8 hours; skill_building 12 hours")
    ]
    everything = await csv_rows(c, "/worklist?format=csv")
    assert [r["person_id"] for r in everything] == [r["person_id"] for r in listed["items"]]
    assert everything[3]["days_left"] == "" and everything[3]["since"] == "2027-10-01"
    assert [r["region"] for r in everything] == [r["region"] for r in listed["items"]]
    cumberland = await csv_rows(c, "/worklist?format=csv&region=cumberland")
    assert [(r["person_id"], r["region"]) for r in cumberland] == [("p-lapsed", "Cumberland")]

    # The missing skill-building hours arrive: the first year is met, off the list.
    await log(c, jetstream, hours("p-first", "12", category=SB, on=TODAY, source="trainer/t-1"))

    async def first_year_met() -> bool:
        return (await get(c, "/worklist?category=first_year_unmet"))["total"] == 0

    await eventually(first_year_met)

    # Invalid filters are refused with a code, never echoing the value sent.
    for bad in (
        "/worklist?category=<script>",
        "/worklist?sort=x",
        "/worklist?page=0",
        "/worklist?region=",
        f"/worklist?region={'<script>' * 20}",
    ):
        refused = await c.call("GET", bad, "op")
        assert refused.status_code == 422
        assert refused.json()["code"] == "invalid_request"
        assert "<script>" not in refused.text


async def test_people_refusals_certificates_and_the_summary_agree_with_one_another(
    certification: Certification, jetstream: JetStreamContext
) -> None:
    c = certification
    await three_years(c, jetstream)

    # Refused reports from two partners: unknown person, future date, over the day's cap.
    smhc_unknown = hours("p-404", "1", on=TODAY - timedelta(days=1))
    smhc_future = hours("p-ok", "1", on=TODAY + timedelta(days=3))
    mmc_first = hours("p-ok", "20", on=TODAY - timedelta(days=1), source="partner/mmc")
    mmc_over = hours("p-ok", "10", on=TODAY - timedelta(days=1), source="partner/mmc")
    before = len(rows(c.database_url, tables.HoursRejection))
    for report in (smhc_unknown, smhc_future, mmc_first, mmc_over):
        await send(jetstream, report)
    await eventually(lambda: len(rows(c.database_url, tables.HoursRejection)) == before + 3)

    refused = await get(c, "/hours/refused")
    assert refused["total"] == 3
    assert sorted((n["source"], n["reason_code"], n["count"]) for n in refused["counts"]) == [
        ("mmc", "daily_limit_exceeded", 1),
        ("smhc", "future_date", 1),
        ("smhc", "unknown_person", 1),
    ]
    smhc = await get(c, "/hours/refused?source=partner/smhc")
    assert {r["event_id"] for r in smhc["items"]} == {smhc_unknown.id, smhc_future.id}
    assert (await get(c, "/hours/refused?source=smhc"))["total"] == 2
    future = await get(c, "/hours/refused?source=smhc&reason=future_date")
    [only] = future["items"]
    assert (only["event_id"], only["person_id"], only["hours"]) == (smhc_future.id, "p-ok", "1.00")
    assert future["counts"] == [{"source": "smhc", "reason_code": "future_date", "count": 1}]
    # The period: days in the program's time zone, both included.
    assert (await get(c, f"/hours/refused?from={TODAY}&to={TODAY}"))["total"] == 3
    assert (await get(c, f"/hours/refused?to={TODAY - timedelta(days=1)}"))["total"] == 0
    assert (await get(c, f"/hours/refused?from={TODAY + timedelta(days=1)}"))["total"] == 0
    backwards = await c.call("GET", f"/hours/refused?from={TODAY}&to=2020-01-01", "op")
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")
    wrong = await c.call("GET", "/hours/refused?source=nobody/x", "op")
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_source")
    assert "nobody" not in wrong.text
    exported = await csv_rows(c, "/hours/refused?format=csv&page_size=1&source=mmc")
    assert [(r["source"], r["reason_code"], r["event_id"]) for r in exported] == [
        ("mmc", "daily_limit_exceeded", mmc_over.id)
    ]

    # A person's refused reports next to the accepted ones.
    ledger = await get(c, "/people/p-ok/hours?refused=true")
    assert {(h["outcome"], h["event_id"]) for h in ledger if h["outcome"] == "refused"} == {
        ("refused", smhc_future.id),
        ("refused", mmc_over.id),
    }
    assert {h["reason_code"] for h in ledger if h["outcome"] == "refused"} == {
        "future_date",
        "daily_limit_exceeded",
    }
    assert all(h["outcome"] == "accepted" for h in await get(c, "/people/p-ok/hours"))
    assert (await c.call("GET", "/people/p-404/hours?refused=true", "op")).status_code == 404

    # People, filtered by status and cohort, paged, exported.
    people = await get(c, "/people")
    assert people["total"] == 6
    assert [p["person_id"] for p in people["items"]] == sorted(
        p["person_id"] for p in people["items"]
    )
    statuses = {p["person_id"]: (p["status"], p["since"]) for p in people["items"]}
    assert statuses["p-lapsed"] == ("lapsed", "2027-10-01")
    assert statuses["p-first"][0] == "trained"
    certified = await get(c, "/people?status=certified")
    assert {p["person_id"] for p in certified["items"]} == {"p-rev", "p-ok"}
    spring = await get(c, "/people?cohort=2026-spring&page_size=1&page=2")
    assert (spring["total"], [p["person_id"] for p in spring["items"]]) == (2, ["p-risk"])
    exported_people = await csv_rows(c, "/people?format=csv&status=certified&page_size=1")
    assert [(p["person_id"], p["status"]) for p in exported_people] == [
        ("p-ok", "certified"),
        ("p-rev", "certified"),
    ]
    assert all(p["certificate_number"].startswith("ME-") for p in exported_people)

    # Regions, as training completions named them (whatever the case): p-first-met's named
    # none, until a later completion of theirs does (their record is otherwise unchanged).
    assert {p["person_id"]: p["region"] for p in people["items"]} == {
        **REGIONS,
        "p-first-met": None,
    }
    unnamed = await get(c, "/reports/summary?from=2027-01-01&to=2028-02-01")
    assert unnamed["people_by_region"][-1] == {"region": None, "people_by_status": {"trained": 1}}
    await send(jetstream, completed("p-first-met", "2027-spring", TODAY, region="york"))

    def named() -> bool:
        kept = {p.person_id: p for p in rows(c.database_url, tables.Participant)}
        return kept["p-first-met"].region == "york"

    await eventually(named)
    [first_met] = (await get(c, "/people?region=york&status=trained&page_size=1&page=2"))["items"]
    assert first_met == {
        **next(p for p in people["items"] if p["person_id"] == "p-first-met"),
        "region": "york",
    }
    kennebec = await get(c, "/people?region=KENNEBEC")
    assert [(p["person_id"], p["region"]) for p in kennebec["items"]] == [
        ("p-rev", "Kennebec"),
        ("p-risk", "kennebec"),
    ]
    certified_kennebec = await get(c, "/people?region=kennebec&status=certified")
    assert [p["person_id"] for p in certified_kennebec["items"]] == ["p-rev"]
    assert (await get(c, "/people?region=York&cohort=2026-spring"))["total"] == 0
    assert (await get(c, "/people?region=Aroostook"))["total"] == 0
    exported_york = await csv_rows(c, "/people?format=csv&region=YORK&page_size=1")
    assert [(p["person_id"], p["region"]) for p in exported_york] == [
        ("p-first", "York"),
        ("p-first-met", "york"),
    ]

    # Certificates: by number prefix, status and the day issued.
    certificates = await get(c, "/certificates")
    assert certificates["total"] == 4  # p-rev, p-lapsed, p-risk, p-ok
    numbers = {cert["person_id"]: cert["number"] for cert in certificates["items"]}
    assert (await get(c, f"/certificates?number={numbers['p-risk'].lower()}"))["items"] == [
        cert for cert in certificates["items"] if cert["person_id"] == "p-risk"
    ]
    assert (await get(c, "/certificates?number=ME-2027"))["total"] == 2
    assert (await get(c, "/certificates?number=ME-2099"))["total"] == 0
    lapsed = await get(c, "/certificates?status=lapsed")
    assert [cert["person_id"] for cert in lapsed["items"]] == ["p-lapsed"]
    in_2026 = await get(c, "/certificates?issued_from=2026-01-01&issued_to=2026-12-31")
    assert {cert["person_id"] for cert in in_2026["items"]} == {"p-rev", "p-lapsed"}
    assert {cert["issued_on"] for cert in in_2026["items"]} == {"2026-01-15", "2026-09-01"}
    exported_certificates = await csv_rows(c, "/certificates?format=csv&number=ME-2026")
    assert {r["person_id"] for r in exported_certificates} == {"p-rev", "p-lapsed"}
    assert {cert["person_id"]: cert["region"] for cert in certificates["items"]} == {
        person_id: REGIONS[person_id] for person_id in numbers
    }
    in_kennebec = await get(c, "/certificates?region=KENNEBEC")
    assert {cert["person_id"] for cert in in_kennebec["items"]} == {"p-rev", "p-risk"}
    assert (await get(c, "/certificates?region=york"))["total"] == 0
    lapsed_cumberland = await get(c, "/certificates?region=cumberland&status=lapsed")
    assert [cert["person_id"] for cert in lapsed_cumberland["items"]] == ["p-lapsed"]
    exported_cumberland = await csv_rows(c, "/certificates?format=csv&region=Cumberland")
    assert {(r["person_id"], r["region"]) for r in exported_cumberland} == {
        ("p-lapsed", "Cumberland"),
        ("p-ok", "Cumberland"),
    }
    injected = await c.call("GET", "/certificates?number=%25", "op")
    assert injected.status_code == 422 and "%" not in injected.json()["detail"]

    # The report's numbers are the lists' numbers for the same filters.
    for first, last in (("2026-01-01", "2026-12-31"), ("2027-01-01", "2028-02-01")):
        summary = await get(c, f"/reports/summary?from={first}&to={last}")
        for status_name, count in summary["people_by_status"].items():
            assert (await get(c, f"/people?status={status_name}"))["total"] == count
        assert sum(summary["people_by_status"].values()) == people["total"]
        for region in summary["people_by_region"]:
            for status_name, count in region["people_by_status"].items():
                listed = await get(c, f"/people?region={region['region']}&status={status_name}")
                assert listed["total"] == count
            in_region = await get(c, f"/people?region={region['region']}")
            assert in_region["total"] == sum(region["people_by_status"].values())
        assert (
            sum(
                count
                for region in summary["people_by_region"]
                for count in region["people_by_status"].values()
            )
            == people["total"]
        )
        issued = await get(c, f"/certificates?issued_from={first}&issued_to={last}")
        assert summary["certificates_granted"] == issued["total"]
    summary = await get(c, "/reports/summary?from=2027-01-01&to=2028-02-01")
    assert summary["people_by_status"] == {"certified": 2, "at_risk": 1, "lapsed": 1, "trained": 2}
    assert summary["people_by_region"] == [  # each named as first in sort order
        {"region": "Cumberland", "people_by_status": {"certified": 1, "lapsed": 1}},
        {"region": "Kennebec", "people_by_status": {"at_risk": 1, "certified": 1}},
        {"region": "York", "people_by_status": {"trained": 2}},
    ]
    assert (summary["certificates_granted"], summary["lapsed"], summary["reinstated"]) == (2, 1, 0)
    hours_2027 = {(h["category"], h["month"]): Decimal(h["hours"]) for h in summary["hours"]}
    assert hours_2027 == {
        ("continuing_education", "2027-01"): 8,
        ("skill_building", "2027-01"): 12,
        ("continuing_education", "2027-03"): 24,  # p-ok, p-first-met, p-first
        ("skill_building", "2027-03"): 24,
        ("volunteer_service", "2028-01"): 20,  # mmc's first report; refused ones never count
    }
    ledger = await get(c, "/people/p-ok/hours")
    ledger_total = sum((Decimal(h["hours"]) for h in ledger), Decimal(0))
    assert ledger_total == 8 + 12 + 8 + 12 + 20
    assert (await get(c, "/reports/summary?from=2026-01-01&to=2026-12-31"))["reviews_held"] == {
        "affirmed": 1
    }
    lines = await csv_rows(c, "/reports/summary?from=2027-01-01&to=2028-02-01&format=csv")
    line = {"measure": "people_by_status", "key": "lapsed", "month": "", "value": "1", "region": ""}
    assert line in lines
    line = {"measure": "hours", "key": "skill_building", "month": "2027-03", "value": "24.00"}
    assert {**line, "region": ""} in lines
    line = {"measure": "certificates_granted", "key": "", "month": "", "value": "2"}
    assert {**line, "region": ""} in lines
    by_region = [line for line in lines if line["measure"] == "people_by_region"]
    assert [(line["region"], line["key"], line["value"]) for line in by_region] == [
        ("Cumberland", "certified", "1"),
        ("Cumberland", "lapsed", "1"),
        ("Kennebec", "at_risk", "1"),
        ("Kennebec", "certified", "1"),
        ("York", "trained", "2"),
    ]
    backwards = await c.call("GET", "/reports/summary?from=2028-01-01&to=2027-01-01", "op")
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")
    assert (await c.call("GET", "/reports/summary", "op")).status_code == 422

    # Operators only: a trainer and a person are refused, anyone without a token too.
    for path in OPERATOR_ONLY:
        for token in ("trainer", "p1"):
            answer = await c.call("GET", path, token)
            assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
        anonymous = await c.client.get(path)
        assert anonymous.status_code == 401
    # A person sees their own refused reports only (another's is not found).
    assert (await c.call("GET", "/people/p-ok/hours?refused=true", "p1")).status_code == 404
