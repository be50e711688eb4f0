"""The directory's public web page in headless Chromium, on SQLite and PostgreSQL: search,
filter, page through results, verify a number (known, unknown, lapsed), keyboard-only
use, an axe-core audit of every page (WCAG 2.0, 2.1, 2.2 A and AA), friendly refusals,
and opt-in privacy checked with canary values on every page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from .conftest import CANARIES, Site

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
markup_only = pytest.mark.parametrize("site", ["sqlite"], indirect=True)
"""For what does not depend on the database (the pages' markup, the keyboard, refusals):
SQLite alone. PostgreSQL's answers are checked by the search, verification and privacy
tests."""


def pages_of(site: Site) -> dict[str, str]:
    """Every kind of page the site has, by a name for its screenshot."""
    harbor = site.centers["Harbor Peer Center"]
    numbers = site.numbers
    return {
        "home": "/",
        "specialists": "/search/specialists",
        "specialists-page-2": "/search/specialists?page=2",
        "specialists-filtered": "/search/specialists?region=york&setting=warmline",
        "specialists-none": "/search/specialists?q=nobody-at-all",
        "centers": "/search/centers",
        "center": f"/search/centers/{harbor}",
        "groups": "/search/groups?type=art",
        "verify": "/verify",
        "verify-known": f"/verify?number={numbers['known']}",
        "verify-at-risk": f"/verify?number={numbers['at_risk']}",
        "verify-lapsed": f"/verify?number={numbers['lapsed']}",
        "verify-unknown": f"/verify?number={numbers['unknown']}",
        "refused": "/search/specialists?page=abc",
    }


async def audit(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's WCAG A/AA violations on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    results = await page.evaluate("options => axe.run(document, options)", options)
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results["violations"]
    ]


@markup_only
async def test_every_page_passes_an_axe_audit(
    site: Site, page: Any, axe_source: str, shots: Path
) -> None:
    found: dict[str, Any] = {}
    for name, path in pages_of(site).items():
        answer = await page.goto(site.url + path)
        assert answer is not None and answer.status < 500, (name, answer and answer.status)
        assert await page.locator("h1").count() == 1, name
        violations = await audit(page, axe_source)
        await page.screenshot(path=shots / f"{name}.png", full_page=True)
        if violations:
            found[name] = violations
    # Narrow, as on a phone: nothing to scroll sideways, and still no violations.
    await page.set_viewport_size({"width": 360, "height": 740})
    for name in ("home", "specialists", "groups", "verify-known"):
        await page.goto(site.url + pages_of(site)[name])
        wide = await page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 360, (name, wide)
        violations = await audit(page, axe_source)
        await page.screenshot(path=shots / f"{name}-phone.png", full_page=True)
        if violations:
            found[f"{name}-phone"] = violations
    assert found == {}, json.dumps(found, indent=1)
    assert len(list(shots.glob("*.png"))) == len(pages_of(site)) + 4


def flat(text: str) -> str:
    """Text as read aloud: one space between words, no colons (a term's is drawn by CSS)."""
    return " ".join(text.replace(":", " ").split())


async def results(page: Any) -> tuple[str, list[str]]:
    """The results heading and the names of the results shown."""
    heading = (await page.locator("#results").inner_text()).strip()
    names = await page.locator(".results .card h3").all_inner_texts()
    return heading, [name.strip() for name in names]


async def test_search_filter_and_paginate_specialists(site: Site, page: Any) -> None:
    await page.goto(site.url + "/")
    await page.get_by_label("Name or words").fill("evening")
    await page.get_by_role("button", name="Find specialists").click()
    assert await results(page) == ("1 specialist found", ["Alex Peer 07"])
    assert "/search/specialists?" in page.url and "q=evening" in page.url
    # The search box keeps what was asked; the page title says what was found.
    assert await page.get_by_label("Name or words").input_value() == "evening"
    assert "1 found" in await page.title()

    # Filters: a setting from the list, a region and a language typed.
    await page.get_by_label("Name or words").fill("")
    await page.get_by_label("Where they work").select_option(label="Warmline")
    await page.get_by_label("Region or county").fill("york")
    await page.get_by_role("button", name="Find specialists").click()
    heading, names = await results(page)
    # n % 4 == 0 works on a warmline, n % 3 == 0 in York: 12.
    assert (heading, names) == ("1 specialist found", ["Alex Peer 12"])
    await page.get_by_label("Where they work").select_option(label="Any setting")
    await page.get_by_label("Region or county").fill("")
    await page.get_by_label("Language").fill("Spanish")
    await page.get_by_role("button", name="Find specialists").click()
    assert await results(page) == (
        "4 specialists found",
        ["Alex Peer 05", "Alex Peer 10", "Alex Peer 15", "Alex Peer 20"],
    )
    # A listing shows the fields chosen: status, date, region, settings, languages.
    card = page.locator(".results .card").first
    text = await card.inner_text()
    for part in ("Certified, valid through March 1, 2028", "Cumberland", "Peer center"):
        assert part in text, part
    assert "English, Spanish" in text

    # Pages: 24 listed, 20 a page.
    await page.goto(site.url + "/search/specialists")
    heading, names = await results(page)
    assert heading == f"{site.listed} specialists found" and len(names) == 20
    status = page.get_by_role("status")
    assert "Showing 1 to 20, page 1 of 2" in await status.inner_text()
    pages = page.get_by_role("navigation", name="Pages of results")
    assert await pages.locator("[aria-current=page]").inner_text() == "Page 1 of 2"
    assert await pages.get_by_role("link", name="Previous page").count() == 0
    await pages.get_by_role("link", name="Next page").click()
    heading, second = await results(page)
    assert len(second) == site.listed - 20 and not set(second) & set(names)
    assert "Jordan Risk" in second and "Name not shown" in second
    assert await pages.locator("[aria-current=page]").inner_text() == "Page 2 of 2"
    assert await pages.get_by_role("link", name="Next page").count() == 0
    risk = page.locator(".card", has_text="Jordan Risk")
    assert "Certified, at risk of lapsing, valid through July 1, 2027" in await risk.inner_text()
    # Filters are kept from page to page.
    await page.goto(site.url + "/search/specialists?q=alex&page_size=5&page=2")
    assert "page 2 of 5" in await status.inner_text()
    await pages.get_by_role("link", name="Next page").click()
    assert "q=alex" in page.url and "page=3" in page.url and "page_size=5" in page.url
    assert "page 3 of 5" in await status.inner_text()
    await pages.get_by_role("link", name="Previous page").click()
    assert "page 2 of 5" in await status.inner_text()
    # What was typed comes back in its field as text, never as markup.
    typed = '"><script>document.title="owned"</script><b>bold'
    await page.goto(site.url + "/search/specialists?" + urlencode({"q": typed}))
    assert await page.locator("script, b").count() == 0
    assert await page.get_by_label("Name or words").input_value() == typed
    assert (await results(page))[0] == "No specialists found"
    # Past the last page: said plainly, with a way back.
    await page.goto(site.url + "/search/specialists?page=9")
    assert "there is no page 9" in await status.inner_text()
    await pages.get_by_role("link", name="Previous page").click()
    assert "page 2 of 2" in await status.inner_text()


async def test_centers_and_groups(site: Site, page: Any) -> None:
    await page.goto(site.url + "/")
    await page.locator("#ce-county").fill("Penobscot")
    await page.get_by_role("button", name="Find centers").click()
    assert await results(page) == ("1 center found", ["Lakeside Peer Center"])
    await page.goto(site.url + "/search/centers?q=portland")
    assert await results(page) == ("1 center found", ["Harbor Peer Center"])
    await page.get_by_role("link", name="Harbor Peer Center").click()
    assert await page.locator("h1").inner_text() == "Harbor Peer Center"
    body = await page.locator("main").inner_text()
    for part in (
        "Portland",
        "Cumberland",
        "Monday to Friday, 9 AM to 4 PM",
        "living room, art room",
        "Adults 18 and over",
        "You do not need a referral or insurance",
        "Open studio",
        "Tuesdays, 1:00 PM to 3:00 PM",
        "Thursdays, 1:00 PM (from July 2027)",
        "Work and you",
    ):
        assert part in body, part

    await page.goto(site.url + "/search/groups")
    assert (await results(page))[0] == "4 groups found"
    await page.get_by_label("Kind of group").select_option(label="Art")
    await page.get_by_role("button", name="Find groups").click()
    assert await results(page) == ("2 groups found", ["Lakeside art club", "Open studio"])
    await page.get_by_label("Kind of group").select_option(label="Any kind")
    await page.get_by_label("Day").select_option(label="Tuesday")
    await page.get_by_role("button", name="Find groups").click()
    assert await results(page) == ("2 groups found", ["Voices circle", "Open studio"])
    # An operator's own group type is in the list too.
    await page.get_by_label("Day").select_option(label="Any day")
    await page.get_by_label("Kind of group").select_option(label="Hearing voices")
    await page.locator("#gr-county").fill("penobscot")
    await page.get_by_role("button", name="Find groups").click()
    assert await results(page) == ("1 group found", ["Voices circle"])
    await page.get_by_role("link", name="Lakeside Peer Center").click()
    assert await page.locator("h1").inner_text() == "Lakeside Peer Center"

    # Schedules change month to month: Open studio meets on Thursdays from July only.
    await page.goto(site.url + "/search/groups")
    await page.get_by_label("Day").select_option(label="Thursday")
    await page.get_by_label("Month").select_option(label="June 2027")  # the site's today
    await page.get_by_role("button", name="Find groups").click()
    assert await results(page) == ("No groups found", [])
    await page.get_by_label("Month").select_option(label="July 2027")
    await page.get_by_role("button", name="Find groups").click()
    assert await results(page) == ("1 group found", ["Open studio"])
    assert "Thursdays" in await page.locator(".results .card").inner_text()


async def test_verify_a_certificate(site: Site, page: Any) -> None:
    async def check(number: str) -> tuple[int, str]:
        await page.goto(site.url + "/verify")
        await page.get_by_label("Certificate number").fill(number)
        async with page.expect_navigation() as navigation:
            await page.get_by_role("button", name="Check certificate").click()
        answer = await navigation.value
        return answer.status, await page.locator(".results").inner_text()

    status, known = await check(site.numbers["known"])
    assert status == 200
    assert "This certificate is current." in known
    assert "Status Certified Certified since March 1, 2026 Valid through March 1, 2028" in flat(
        known
    )
    assert "Lapsed" not in known

    status, lapsed = await check(site.numbers["lapsed"])
    assert status == 200 and "This certificate is not current." in lapsed
    assert "Status Lapsed Lapsed since March 31, 2027" in flat(lapsed)
    assert "Valid through" not in lapsed and "Certified since" not in lapsed
    # Nothing about the person: the profile's name is not on the page.
    assert "Casey" not in await page.content()

    status, unknown = await check(site.numbers["unknown"])
    assert status == 404
    assert "No certificate with this number is known to the directory." in unknown
    assert site.numbers["unknown"] not in unknown  # said plainly, without the number
    # The number stays in its field, to correct it.
    assert await page.get_by_label("Certificate number").input_value() == site.numbers["unknown"]

    status, at_risk = await check(site.numbers["at_risk"])
    assert "Status Certified, at risk of lapsing Certified since July 1, 2026" in flat(at_risk)
    assert "Valid through July 1, 2027" in flat(at_risk)


async def focused(page: Any) -> dict[str, Any]:
    """The element with focus: its id or text, whether its outline shows, where it is."""
    return await page.evaluate(
        """() => {
            const e = document.activeElement;
            const style = getComputedStyle(e);
            const box = e.getBoundingClientRect();
            return {
                tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || '').trim(),
                outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                visible: box.width > 0 && box.height > 0 && box.top >= 0
                    && box.bottom <= window.innerHeight,
            };
        }"""
    )


@markup_only
async def test_keyboard_only(site: Site, page: Any) -> None:
    await page.goto(site.url + "/")
    await page.keyboard.press("Tab")
    skip = await focused(page)
    assert skip["text"] == "Skip to main content" and skip["outline"] and skip["visible"]
    await page.keyboard.press("Enter")
    assert (await focused(page))["id"] == "main"
    await page.keyboard.press("Tab")
    field = await focused(page)
    assert field["id"] == "sp-q" and field["outline"] and field["visible"]
    await page.keyboard.type("evening")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await results(page) == ("1 specialist found", ["Alex Peer 07"])

    # Every control can be reached with Tab, shows where focus is, and is in view.
    await page.goto(site.url + "/search/groups")
    seen = []
    for _ in range(13):
        await page.keyboard.press("Tab")
        now = await focused(page)
        assert now["outline"], now
        seen.append(now["id"] or now["text"])
    assert seen[:11] == [
        "Skip to main content",
        "Peer Support Directory",
        "Find a specialist",
        "Find a center",
        "Find a group",
        "Check a certificate",
        "gr-q",
        "gr-county",
        "gr-type",
        "gr-day",
        "gr-month",
    ]
    assert seen[11] == "Find groups"
    # A choice made with the arrow keys, the form sent with Enter from a text field.
    await page.locator("#gr-type").focus()
    await page.keyboard.press("ArrowDown")  # the first kind after "Any kind"
    chosen = await page.locator("#gr-type").input_value()
    assert chosen
    await page.locator("#gr-county").focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert f"type={chosen}" in page.url

    # The verification form, by keyboard alone.
    await page.goto(site.url + "/verify")
    for _ in range(7):
        await page.keyboard.press("Tab")
    assert (await focused(page))["id"] == "vf-number"
    await page.keyboard.type(site.numbers["known"])
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "This certificate is current." in await page.locator(".results").inner_text()


@markup_only
async def test_bad_addresses_get_a_page_saying_what_to_fix(site: Site, page: Any) -> None:
    secret = "Zz" + "9" * 300
    cases = {
        "/search/specialists?page=abc": (400, "The page number must be a whole number"),
        "/search/specialists?page=0": (400, "The page number must be a whole number"),
        "/search/specialists?page_size=1000": (400, "results per page"),
        f"/search/specialists?q={secret}": (400, "at most 200 characters"),
        f"/search/specialists?region={secret[:90]}": (400, "at most 80 characters"),
        "/search/specialists?setting=astronaut": (400, "Please choose a setting"),
        "/search/specialists?q=a%00b": (400, "cannot be searched for"),
        f"/search/centers?county={secret}": (400, "at most 80 characters"),
        "/search/groups?type=zzsecretzz": (400, "Please choose a kind of group"),
        "/search/groups?day=funday": (400, "Please choose a day"),
        "/search/groups?month=1999-01": (400, "Please choose a month"),
        f"/verify?number={quote('ME 2026 zzsecretzz!')}": (400, "letters, digits and dashes"),
        f"/verify?number={secret}": (400, "letters, digits and dashes"),
        "/search/centers/zzsecretzz": (404, "No peer support center"),
        f"/search/centers/{quote('zz secret zz!')}": (404, "no peer support center"),
    }
    for path, (status, sentence) in cases.items():
        answer = await page.goto(site.url + path)
        assert answer is not None and answer.status == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        html = await page.content()
        assert sentence.casefold() in html.casefold(), path
        for echoed in ("zzsecretzz", "9" * 50, "astronaut", "funday"):
            assert echoed not in html, (path, echoed)
        assert await page.locator("h1").count() == 1
        assert await page.get_by_role("link", name="start again from the home page").count()


async def test_pages_show_no_hidden_field(site: Site, page: Any) -> None:
    """A profile shows the fields its owner chose and nothing else; an unlisted profile,
    and every person id, appear nowhere."""
    every = [
        *pages_of(site).values(),
        "/search/specialists?page=2",
        "/search/specialists?page_size=100",
        "/search/specialists?setting=act_team",
        *(f"/search/centers/{center_id}" for center_id in site.centers.values()),
        "/search/groups",
        "/verify?number=ME-2026-902",  # the canary's own certificate
        "/verify?number=ME-2026-903",  # the unlisted person's
    ]
    texts = []
    for path in every:
        await page.goto(site.url + path)
        texts.append(await page.content())
    # Searching for the hidden values: the search boxes repeat what was typed, the
    # results show none of it.
    for path in (
        "/search/specialists?q=canary",
        "/search/specialists?q=zq7",
        "/search/specialists?q=xw4",
        "/search/specialists?q=unlisted",
        "/search/specialists?language=Canarese-zq7",
        "/search/specialists?region=Canary+County+Zq7",
    ):
        await page.goto(site.url + path)
        assert (await results(page))[0] == "No specialists found", path
        texts.append(await page.locator(".results").inner_html())
    everything = "\n".join(texts).casefold()
    leaked = [c for c in CANARIES if c.casefold() in everything]
    assert leaked == []
    # The canary's listing is there, with the one field it shows.
    await page.goto(site.url + "/search/specialists?setting=act_team")
    assert await results(page) == ("1 specialist found", ["Name not shown"])
    card = flat(await page.locator(".results .card").inner_text())
    assert card == "Name not shown Certified, valid through March 1, 2028 Works in ACT team"


@markup_only
async def test_the_stylesheet_is_allowed_by_the_page_policy(site: Site, page: Any) -> None:
    """The pages load their own stylesheet and nothing else (no script at all)."""
    css = httpx.get(site.url + "/static/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    home = httpx.get(site.url + "/")
    assert "<script" not in home.text
    policy = home.headers.get("content-security-policy", "")
    assert "style-src 'self'" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy
    await page.goto(site.url + "/")
    height = await page.evaluate(
        "() => getComputedStyle(document.querySelector('main button')).minHeight"
    )
    assert height == "44px"


@markup_only
async def test_the_pages_stay_out_of_the_json_api(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
        api = await client.get("/specialists", params={"q": "evening"})
    assert "/" not in paths and "/verify" not in paths
    assert not [path for path in paths if path.startswith(("/search", "/static"))]
    assert "/specialists" in paths and "/certificates/{number}" in paths
    assert api.headers["content-type"] == "application/json"
    assert api.json()["items"][0]["profile"]["display_name"] == "Alex Peer 07"
