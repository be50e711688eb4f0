"""The web page counts against the same per-client public limit as the JSON API, and
past it says so in a page, with `Retry-After`."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import RunningApp


async def test_pages_share_the_public_rate_limit(limited_app: RunningApp, page: Any) -> None:
    """Three calls a minute: two pages and a JSON search, then a page and the API refused."""
    first = await page.goto(limited_app.url + "/")
    second = await page.goto(limited_app.url + "/verify?number=ME-1")
    async with httpx.AsyncClient(base_url=limited_app.url) as client:
        api = await client.get("/specialists")
        refused = await page.goto(limited_app.url + "/search/specialists?q=zzsecretzz")
        api_refused = await client.get("/certificates/ME-1")
        # The stylesheet is not counted: a refused page still has its styles.
        css = await client.get("/static/site.css")
    assert (first.status, second.status, api.status_code) == (200, 404, 200)
    assert refused is not None and refused.status == 429
    assert int(refused.headers["retry-after"]) > 0
    assert await page.locator("h1").inner_text() == "Too many requests"
    assert "Please wait" in await page.locator("main").inner_text()
    assert "zzsecretzz" not in await page.content()
    assert api_refused.status_code == 429 and api_refused.json()["code"] == "too_many_requests"
    assert css.status_code == 200
