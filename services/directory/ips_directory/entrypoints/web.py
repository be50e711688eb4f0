"""The directory's public web page, served at `/`: search specialists, centers and groups,
and verify a certificate. Server-rendered HTML (Jinja2, `ips_directory/web/templates`)
that works without JavaScript: every search is a GET form, so each result page has its
own address.

A thin entry point, like `http.py`: it asks the bus the same queries as the public JSON
API and shows the same fields (a profile's shown fields only; a certificate's status and
dates only). Each page counts against the client's public rate limit, the same
`PUBLIC_RATE_LIMIT` counter as the JSON API's public routes. Input is checked here, so a
bad address gives a page saying what to fix (4xx), never the value sent."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import QueryParams

from ips_shared import errors
from ips_shared.http import status_of
from ips_shared.listing import PageRequest
from ips_shared.messaging.bus import MessageBus
from ips_shared.rate_limits import client_of, rate_limits_of

from ..commands import (
    GetCenter,
    ListGroupTypes,
    SearchCenters,
    SearchGroups,
    SearchSpecialists,
    VerifyCertificate,
)
from ..domain import profiles
from ..domain.centers import Weekday
from ..domain.certificates import Status
from ..domain.errors import UnknownCertificate
from ..domain.profiles import Setting
from ..domain.search import LARGEST_PAGE

SITE = Path(__file__).resolve().parents[1] / "web"
STYLESHEET = "/static/site.css"
PAGE_SIZE = 20
LAST_PAGE = 10_000
TEXT_LENGTH = 200
AREA_LENGTH = 80
NUMBER_LENGTH = 64
NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
ENTITY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

SETTING_LABELS: dict[Setting, str] = {
    Setting.WARMLINE: "Warmline",
    Setting.EMERGENCY_DEPARTMENT: "Emergency department",
    Setting.BEHAVIORAL_HEALTH_HOME: "Behavioral health home",
    Setting.STATE_PSYCHIATRIC_HOSPITAL: "State psychiatric hospital",
    Setting.PEER_CENTER: "Peer center",
    Setting.ACT_TEAM: "ACT team",
    Setting.COMMUNITY_OUTREACH: "Community outreach",
    Setting.YOUTH_PEER_SUPPORT: "Youth peer support",
}
STATUS_LABELS: dict[Status, str] = {
    Status.CERTIFIED: "Certified",
    Status.AT_RISK: "Certified, at risk of lapsing",
    Status.LAPSED: "Lapsed",
    Status.SUSPENDED: "Suspended",
    Status.WITHDRAWN: "Withdrawn",
    Status.TRAINED: "Not certified",
}
CURRENT = frozenset({Status.CERTIFIED, Status.AT_RISK})


class BadInput(Exception):
    """An address the page cannot answer: the sentence says what to fix, never the value."""

    def __init__(self, sentence: str, status: int = 400) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.status = status


def _long_date(day: date | None) -> str:
    return f"{day:%B} {day.day}, {day.year}" if day else ""


def _month(day: date | None) -> str:
    return f"{day:%B} {day.year}" if day else ""


def _clock(at: time | None) -> str:
    if at is None:
        return ""
    hour = at.hour % 12 or 12
    return f"{hour}:{at.minute:02d} {'AM' if at.hour < 12 else 'PM'}"


def _weekday(day: Weekday | str) -> str:
    return str(day).capitalize()


templates = Environment(
    loader=FileSystemLoader(SITE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    long_date=_long_date,
    month=_month,
    clock=_clock,
    weekday=_weekday,
    setting=lambda setting: SETTING_LABELS.get(setting, str(setting)),
    status=lambda status: STATUS_LABELS.get(status, str(status)),
)
templates.globals.update(
    stylesheet=STYLESHEET,
    settings=[(s.value, SETTING_LABELS[s]) for s in Setting],
    weekdays=[(d.value, _weekday(d)) for d in Weekday],
    current_statuses=CURRENT,
    Status=Status,
)
STYLES = (SITE / "static" / "site.css").read_bytes()


# -- reading the address ------------------------------------------------------------------


def _text(params: QueryParams, name: str, longest: int, what: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > longest:
        raise BadInput(f"{what} can be at most {longest} characters long. Please shorten it.")
    if CONTROL.search(value):
        raise BadInput(f"{what} has characters that cannot be searched for.")
    return value or None


def _whole(params: QueryParams, name: str, lowest: int, highest: int, what: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or not lowest <= int(value) <= highest:
        raise BadInput(f"{what} must be a whole number from {lowest} to {highest}.")
    return int(value)


def _page(params: QueryParams) -> PageRequest:
    page = _whole(params, "page", 1, LAST_PAGE, "The page number") or 1
    size = _whole(params, "page_size", 1, LARGEST_PAGE, "The number of results per page")
    return PageRequest(page, size or PAGE_SIZE)


def _choice(params: QueryParams, name: str, allowed: Mapping[str, Any], what: str) -> str | None:
    value = params.get(name)
    if not value:
        return None
    if value not in allowed:
        raise BadInput(f"Please choose {what} from the list.")
    return value


@dataclass(frozen=True)
class Pages:
    """Where a page of results sits, and the addresses of its neighbours."""

    page: int
    count: int
    total: int
    first_shown: int
    last_shown: int
    previous: str | None
    next: str | None


def _pages(path: str, filters: Mapping[str, Any], page: int, size: int, total: int) -> Pages:
    count = max(1, math.ceil(total / size))
    kept = {name: value for name, value in filters.items() if value not in (None, "")}
    if size != PAGE_SIZE:
        kept["page_size"] = size

    def address(number: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': number})}"

    first_shown = min(total, (page - 1) * size + 1)
    return Pages(
        page=page,
        count=count,
        total=total,
        first_shown=first_shown,
        last_shown=min(total, page * size),
        previous=address(min(page - 1, count)) if page > 1 else None,
        next=address(page + 1) if page < count else None,
    )


# -- the pages ------------------------------------------------------------------------------

Rendered = tuple[str, dict[str, Any], int]


def render(name: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    page = templates.get_template(name).render(**context)
    return HTMLResponse(page, status_code=status)  # its policy: `http_limits.PAGE_POLICY`


def problem(title: str, sentence: str, status: int, **extra: Any) -> HTMLResponse:
    return render("problem.html", {"title": title, "sentence": sentence, **extra}, status)


async def serve(request: Request, page: Callable[[], Awaitable[Rendered]]) -> HTMLResponse:
    """A page counted against the client's public limit, its refusals as pages."""
    retry_after = rate_limits_of(request).public.count(client_of(request))
    if retry_after is not None:
        answer = problem(
            "Too many requests",
            "This address has asked for many pages in a short time. "
            f"Please wait {retry_after} seconds and try again.",
            429,
        )
        answer.headers["Retry-After"] = str(retry_after)
        return answer
    try:
        name, context, status = await page()
    except BadInput as refused:
        return problem("Please check your search", refused.sentence, refused.status, back=True)
    except errors.NotFound as missing:
        return problem("Not found", str(missing), 404)
    except errors.DomainError as refused:
        return problem("Please check your search", str(refused), status_of(refused), back=True)
    return render(name, context, status)


MONTHS_AHEAD = 6  # the groups page offers this month and the next few


def _months_from(today: date) -> dict[str, date]:
    """`YYYY-MM` -> the month's first day, from this month on."""
    firsts = [
        date(today.year + (today.month - 1 + n) // 12, (today.month - 1 + n) % 12 + 1, 1)
        for n in range(MONTHS_AHEAD)
    ]
    return {f"{first:%Y-%m}": first for first in firsts}


def router(bus: MessageBus, today: Callable[[], date]) -> APIRouter:
    """The web page's routes; none collides with the JSON API's, and none is in its
    OpenAPI document. `today`: the program's date (which months the groups page offers)."""
    web = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    async def group_types() -> dict[str, str]:
        return {kind.code: kind.label for kind in await bus.dispatch(ListGroupTypes())}

    @web.get("/")
    async def home(request: Request) -> HTMLResponse:
        async def page() -> Rendered:
            return "home.html", {"group_types": await group_types()}, 200

        return await serve(request, page)

    @web.get("/search/specialists")
    async def specialists(request: Request) -> HTMLResponse:
        async def page() -> Rendered:
            params = request.query_params
            filters = {
                "q": _text(params, "q", TEXT_LENGTH, "The search text"),
                "region": _text(params, "region", profiles.REGION_LENGTH, "The region or county"),
                "setting": _choice(params, "setting", {s.value: s for s in Setting}, "a setting"),
                "language": _text(params, "language", profiles.LANGUAGE_LENGTH, "The language"),
            }
            asked = _page(params)
            setting = Setting(filters["setting"]) if filters["setting"] else None
            found = await bus.dispatch(
                SearchSpecialists(
                    filters["q"], filters["region"], setting, filters["language"], asked
                )
            )
            pages = _pages(request.url.path, filters, asked.page, asked.page_size, found.total)
            return "specialists.html", {"f": filters, "found": found, "pages": pages}, 200

        return await serve(request, page)

    @web.get("/search/centers")
    async def centers(request: Request) -> HTMLResponse:
        async def page() -> Rendered:
            params = request.query_params
            filters = {
                "q": _text(params, "q", TEXT_LENGTH, "The search text"),
                "county": _text(params, "county", AREA_LENGTH, "The county"),
            }
            asked = _page(params)
            found = await bus.dispatch(SearchCenters(filters["q"], filters["county"], asked))
            pages = _pages(request.url.path, filters, asked.page, asked.page_size, found.total)
            return "centers.html", {"f": filters, "found": found, "pages": pages}, 200

        return await serve(request, page)

    @web.get("/search/groups")
    async def groups(request: Request) -> HTMLResponse:
        async def page() -> Rendered:
            params = request.query_params
            kinds = await group_types()
            months = _months_from(today())
            filters = {
                "q": _text(params, "q", TEXT_LENGTH, "The search text"),
                "county": _text(params, "county", AREA_LENGTH, "The county"),
                "type": _choice(params, "type", kinds, "a kind of group"),
                "day": _choice(params, "day", {d.value: d for d in Weekday}, "a day"),
                "month": _choice(params, "month", months, "a month"),
            }
            asked = _page(params)
            query = SearchGroups(
                filters["q"],
                filters["county"],
                filters["type"],
                filters["day"],
                months.get(filters["month"] or ""),
                page=asked,
            )
            found = await bus.dispatch(query)
            pages = _pages(request.url.path, filters, asked.page, asked.page_size, found.total)
            context = {
                "f": filters,
                "found": found,
                "pages": pages,
                "group_types": kinds,
                "months": [(key, _month(first)) for key, first in months.items()],
            }
            return "groups.html", context, 200

        return await serve(request, page)

    @web.get("/search/centers/{center_id}")
    async def center(request: Request, center_id: str) -> HTMLResponse:
        async def page() -> Rendered:
            if not ENTITY_ID.match(center_id):
                raise BadInput("There is no peer support center at this address.", 404)
            return "center.html", {"listing": await bus.dispatch(GetCenter(center_id))}, 200

        return await serve(request, page)

    @web.get("/verify")
    async def verify(request: Request) -> HTMLResponse:
        async def page() -> Rendered:
            params = request.query_params
            raw = params.get("number")
            if raw is None or not raw.strip():
                return "verify.html", {"asked": raw is not None, "number": None}, 200
            number = raw.strip()
            if len(number) > NUMBER_LENGTH or not NUMBER.match(number):
                raise BadInput(
                    "A certificate number has only letters, digits and dashes "
                    f"(at most {NUMBER_LENGTH}), for example ME-2026-123. "
                    "Please check the number and try again."
                )
            context: dict[str, Any] = {"asked": True, "number": number}
            try:
                context["verification"] = await bus.dispatch(VerifyCertificate(number))
            except UnknownCertificate:
                return "verify.html", context | {"unknown": True}, 404
            return "verify.html", context, 200

        return await serve(request, page)

    @web.get(STYLESHEET)
    async def stylesheet() -> Response:
        return Response(STYLES, media_type="text/css")

    return web
