"""The public web application's routes: listing, search, feeds, health, printable
notices; sign-up (`web.signup_routes`) and unsubscribe (`web.unsubscribe_routes`).

Pages and feeds come from the in-memory listing (`web.listing`), never from
a query per view. Every bad request gets a 4xx page (or text for a feed)
naming what was wrong, in the page's language. Conditional GETs are
answered with 304 from the resources' ETag and Last-Modified.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from importlib import resources
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatch_tui.domain import identifiers
from dispatch_tui.domain.public_works import (
    PublicAddress,
    PublicUtility,
    PublicWork,
    affecting,
    affecting_address,
)
from dispatch_tui.printable.entrance_notices import notices_html
from dispatch_tui.storage import public_works
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.signup import SignupLimits
from dispatch_tui.web import feeds, i18n, pages
from dispatch_tui.web.listing import Listing, Resource, Snapshot

log = logging.getLogger(__name__)
access_log = logging.getLogger(__name__ + ".access")

SEARCH_SECONDS: Final = 0.3
"""Every search answers after at least this long, found or not (no timing oracle)."""
FIELD_LIMIT: Final = 100
MP_LIMIT: Final = 40
HTML: Final = "text/html; charset=utf-8"
NOT_TEXT: Final = frozenset({"Cc", "Cs", "Co", "Cn"})
LISTING_KEY: Final = web.AppKey("listing", Listing)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class WebConfig:
    base_url: str
    """The public base URL (no trailing slash), for the feeds' absolute links and ids."""
    search_seconds: float = SEARCH_SECONDS
    trust_forwarded_for: bool = False
    """Behind a reverse proxy that sets X-Forwarded-For: the client is its last address."""


CONFIG_KEY: Final = web.AppKey("web_config", WebConfig)


@dataclass(frozen=True)
class Forms:
    """What the sign-up and unsubscribe forms need beyond the listing: a connection
    that may write (the listing's refuses to), the CSRF secret (`web.csrf`), the login
    audit rows name, and the sign-up's rate limits."""

    writer: Engine
    secret: bytes
    actor: str
    limits: SignupLimits = field(default_factory=SignupLimits)


FORMS_KEY: Final = web.AppKey("forms", Forms)


class BadRequest(Exception):
    """A request a person can fix: 4xx with `message` (already in the page's language)."""

    def __init__(self, message: str, status: int = 400, *, language: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.language = language
        """The message's language, when the page around it should be in it too."""


def client_address(request: web.BaseRequest) -> str:
    """Who asked: the peer, or behind a trusted reverse proxy the address it appended last
    to X-Forwarded-For (earlier ones are the client's to write). For logs and per-IP limits."""
    app = request.app if isinstance(request, web.Request) else None
    if app is not None and CONFIG_KEY in app and app[CONFIG_KEY].trust_forwarded_for:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        if hops[-1]:
            return hops[-1][:64]
    return request.remote or "-"


class AccessLog(AbstractAccessLogger):
    """One line per request: the path, never the query string (it holds what people searched)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %.3fs',
            client_address(request),
            request.method,
            request.path,
            response.status,
            time,
        )


def _language(request: web.Request, available: tuple[str, ...]) -> str:
    """?lang= if given (400 if unknown here), else Accept-Language, else the first."""
    wanted = request.query.get("lang")
    if wanted is None:
        return i18n.negotiate(request.headers.get("Accept-Language", ""), available)
    if wanted not in available:
        raise BadRequest(
            i18n.text(
                available[0],
                "err_language",
                lang=repr(wanted[:20]),
                choices=", ".join(available),
            )
        )
    return wanted


def _only(request: web.Request, allowed: frozenset[str], language: str) -> None:
    """Unknown or repeated query parameters are mistakes, said so rather than ignored."""
    for name in request.query:
        if name not in allowed:
            raise BadRequest(i18n.text(language, "err_parameter", name=repr(name[:30])))
        if len(request.query.getall(name)) > 1:
            raise BadRequest(i18n.text(language, "err_parameter", name=repr(name[:30])))


def _field(request: web.Request, name: str, label: str, limit: int, language: str) -> str:
    value = " ".join(request.query.get(name, "").split())
    if len(value) > limit:
        raise BadRequest(i18n.text(language, "err_too_long", field=label, limit=limit))
    # U+FFFD: what the query's bytes became where they were not UTF-8.
    if any(ch == "\ufffd" or unicodedata.category(ch) in NOT_TEXT for ch in value):
        raise BadRequest(i18n.text(language, "err_control", field=label))
    return value


def snapshot_of(request: web.Request) -> Snapshot:
    snapshot = request.app[LISTING_KEY].snapshot
    if snapshot is None:
        raise BadRequest(i18n.text(i18n.FALLBACK, "err_unavailable"), 503)
    return snapshot


def utility_of(request: web.Request, snapshot: Snapshot) -> PublicUtility:
    code = request.match_info["utility"]
    found = snapshot.utilities.get(code)
    if found is None:
        language = i18n.negotiate(request.headers.get("Accept-Language", ""), (i18n.FALLBACK,))
        raise BadRequest(i18n.text(language, "err_unknown_utility", code=repr(code[:40])), 404)
    return found


def _not_modified(request: web.Request, resource: Resource) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return "*" in tags or resource.etag in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        return moment.tzinfo is not None and resource.last_modified <= moment
    return False


def _send(request: web.Request, resource: Resource, *, max_age: int = 30) -> web.Response:
    headers = {
        **resource.headers,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Language",
    }
    if _not_modified(request, resource):
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    return web.Response(body=resource.body, headers=headers)


async def index(request: web.Request) -> web.Response:
    snapshot = snapshot_of(request)
    choices = tuple(i18n.TEXTS)
    language = _language(request, choices)
    _only(request, frozenset({"lang"}), language)
    places = list(snapshot.utilities.values())
    resource = snapshot.resource(
        ("index", language), lambda: (pages.index_page(places, language).encode(), HTML)
    )
    return _send(request, resource)


async def utility_page(request: web.Request) -> web.Response:
    """The overview of a utility's settlements, or with ?settlement= one settlement's works."""
    snapshot = snapshot_of(request)
    utility = utility_of(request, snapshot)
    language = _language(request, i18n.languages_for(utility.language))
    _only(request, frozenset({"lang", "settlement"}), language)
    works = snapshot.works.get(utility.code, ())
    settlement = None
    if "settlement" in request.query:
        settlement = _settlement(request, snapshot, utility, language)

    def build() -> tuple[bytes, str]:
        page = pages.works_page(
            utility,
            works,
            language,
            now=snapshot.as_of,
            as_of=snapshot.as_of,
            stale_since=snapshot.stale_since,
            settlement=settlement,
        )
        return page.encode(), HTML

    key = ("works", utility.code, language, settlement or "")
    return _send(request, snapshot.resource(key, build))


def _settlement(
    request: web.Request, snapshot: Snapshot, utility: PublicUtility, language: str
) -> str:
    """?settlement=, which must name a settlement with works listed (404 otherwise); as
    the listing writes it."""
    wanted = _field(request, "settlement", i18n.text(language, "settlement"), FIELD_LIMIT, language)
    if not wanted:
        raise BadRequest(i18n.text(language, "err_missing"))
    found = snapshot.settlement(utility.code, wanted)
    if found is None:
        raise BadRequest(i18n.text(language, "err_unknown_settlement", name=repr(wanted)), 404)
    return found


async def search(request: web.Request) -> web.Response:
    """Same answer time found or not: the same steps run either way (a metering point's
    lookup always queries), then the answer waits out `search_seconds`."""
    started = time.monotonic()
    snapshot = snapshot_of(request)
    utility = utility_of(request, snapshot)
    language = _language(request, i18n.languages_for(utility.language))
    form: dict[str, str] = {"settlement": "", "street": ""}
    try:
        return await _search(request, started, snapshot, utility, language, form)
    except BadRequest as bad:
        if bad.status != 400:
            raise
        page = pages.search_page(
            utility,
            language,
            now=snapshot.as_of,
            as_of=snapshot.as_of,
            stale_since=snapshot.stale_since,
            form=form,
            found=None,
            error=bad.message,
        )
        return web.Response(text=page, status=400, content_type="text/html")


async def _search(
    request: web.Request,
    started: float,
    snapshot: Snapshot,
    utility: PublicUtility,
    language: str,
    form: dict[str, str],
) -> web.Response:
    _only(request, frozenset({"lang", "settlement", "street", "mp"}), language)
    for name, label, limit in (
        ("settlement", "settlement", FIELD_LIMIT),
        ("street", "street_optional", FIELD_LIMIT),
        ("mp", "metering_point", MP_LIMIT),
    ):
        form[name] = _field(request, name, i18n.text(language, label), limit, language)
    works = snapshot.works.get(utility.code, ())
    if form["mp"] and (form["settlement"] or form["street"]):
        raise BadRequest(i18n.text(language, "err_both"))
    if form["street"] and not form["settlement"]:
        raise BadRequest(i18n.text(language, "err_street_alone"))
    now = snapshot.as_of
    asked = any(name in request.query for name in ("settlement", "street", "mp"))
    by_mp = bool(form["mp"])
    if by_mp:
        try:
            address = await asyncio.to_thread(_mp_address, request, utility, form["mp"])
        except identifiers.InvalidIdentifier as error:
            raise BadRequest(str(error)) from None
        except (SQLAlchemyError, OSError):
            raise BadRequest(i18n.text(language, "err_unavailable"), 503) from None
        found = affecting_address(works, address, now) if address else ()
    elif form["settlement"]:
        found = affecting(works, form["settlement"], form["street"], now)
    elif asked:
        raise BadRequest(i18n.text(language, "err_missing"))
    else:
        found = None  # the form alone
    page = pages.search_page(
        utility,
        language,
        now=now,
        as_of=snapshot.as_of,
        stale_since=snapshot.stale_since,
        form=form,
        found=found,
        by_metering_point=by_mp,
    )
    if found is not None:
        wait = request.app[CONFIG_KEY].search_seconds - (time.monotonic() - started)
        if wait > 0:
            await asyncio.sleep(wait)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


def _mp_address(request: web.Request, utility: PublicUtility, mp_text: str) -> PublicAddress | None:
    with request.app[LISTING_KEY].db.connect() as conn:
        return public_works.metering_point_address(conn, utility, mp_text)


UtilityFeed = Callable[[PublicUtility, Sequence[PublicWork], str], bytes]


def _utility_feed(
    request: web.Request, kind: str, build: UtilityFeed, content_type: str
) -> web.Response:
    """A feed of a utility's whole listing: it takes no parameter."""
    snapshot = snapshot_of(request)
    utility = utility_of(request, snapshot)
    _only(request, frozenset(), utility.language)
    works = snapshot.works.get(utility.code, ())
    base = request.app[CONFIG_KEY].base_url
    resource = snapshot.resource(
        (kind, utility.code), lambda: (build(utility, works, base), content_type)
    )
    return _send(request, resource, max_age=60)


async def works_json(request: web.Request) -> web.Response:
    return _utility_feed(request, "json", feeds.json_feed, "application/json; charset=utf-8")


async def calendar(request: web.Request) -> web.Response:
    snapshot = snapshot_of(request)
    utility = utility_of(request, snapshot)
    language = utility.language
    _only(request, frozenset({"settlement"}), language)
    works = snapshot.works.get(utility.code, ())
    settlement = _settlement(request, snapshot, utility, language)
    base = request.app[CONFIG_KEY].base_url
    resource = snapshot.resource(
        ("ics", utility.code, settlement),
        lambda: (feeds.ical_feed(utility, settlement, works, base), "text/calendar; charset=utf-8"),
    )
    return _send(request, resource, max_age=300)


async def cap_atom(request: web.Request) -> web.Response:
    return _utility_feed(request, "cap", feeds.cap_atom_feed, "application/atom+xml; charset=utf-8")


async def notices(request: web.Request) -> web.Response:
    """An outage's entrance notices, to print: only one the listing shows for this
    utility, and only while approved (404 otherwise, the same for every reason)."""
    snapshot = snapshot_of(request)
    utility = utility_of(request, snapshot)
    language = utility.language
    _only(request, frozenset({"lang"}), language)
    outage_id = int(request.match_info["outage"])
    listed = any(
        w.outage_id == outage_id and not w.cancelled for w in snapshot.works.get(utility.code, ())
    )
    missing = BadRequest(i18n.text(language, "err_not_found"), 404)
    if not listed:
        raise missing
    try:
        page = await asyncio.to_thread(notices_html, request.app[LISTING_KEY].db, outage_id)
    except OutageError:
        raise missing from None
    except (SQLAlchemyError, OSError):
        raise BadRequest(i18n.text(language, "err_unavailable"), 503) from None
    # Its print stylesheet is inline: allowed by its hash, nothing else inline.
    style = re.search(r"<style>(.*?)</style>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256((style[1] if style else "").encode()).digest())
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", f"style-src 'sha256-{digest.decode()}'"
    )
    return web.Response(
        text=page,
        content_type="text/html",
        headers={"Content-Security-Policy": policy, "Cache-Control": "public, max-age=60"},
    )


async def schema(request: web.Request) -> web.Response:
    if request.match_info["name"] != feeds.JSON_SCHEMA_FILE:
        raise BadRequest(i18n.text(i18n.FALLBACK, "err_not_found"), 404)
    return web.Response(
        body=feeds.json_schema(), headers={"Content-Type": "application/schema+json"}
    )


async def stylesheet(_request: web.Request) -> web.Response:
    css = (resources.files("dispatch_tui.web") / "static" / "style.css").read_bytes()
    return web.Response(
        body=css,
        headers={
            "Content-Type": "text/css; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
        },
    )


async def health(request: web.Request) -> web.Response:
    """200 while a listing is served (stale or not, said in the body), 503 before the first."""
    snapshot = request.app[LISTING_KEY].snapshot
    body = {
        "status": "ok" if snapshot is not None else "starting",
        "as_of": snapshot.as_of.isoformat() if snapshot else None,
        "stale": snapshot is not None and snapshot.stale_since is not None,
    }
    return web.Response(
        text=json.dumps(body),
        status=200 if snapshot is not None else 503,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bad requests as pages naming the problem; security headers on every answer."""
    try:
        response = await handler(request)
    except BadRequest as bad:
        response = _error(request, bad.status, bad.message, bad.language)
    except web.HTTPException as http:
        if http.status < 400:
            raise
        message = i18n.text(i18n.FALLBACK, "err_not_found") if http.status == 404 else http.reason
        response = _error(request, http.status, message)
        if http.status == 405:
            response.headers["Allow"] = http.headers.get("Allow", "GET, HEAD")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _error(request: web.Request, status: int, message: str, language: str = "") -> web.Response:
    feed = request.path.endswith((".json", ".ics", ".atom"))
    if feed or request.path == "/health":
        return web.Response(text=message + "\n", status=status, content_type="text/plain")
    if not language:
        language = i18n.negotiate(request.headers.get("Accept-Language", ""), tuple(i18n.TEXTS))
        wanted = request.query.get("lang")
        if wanted in i18n.TEXTS:
            language = str(wanted)
    page = pages.error_page(language, status, message)
    return web.Response(text=page, status=status, content_type="text/html")


def build_app(listing: Listing, config: WebConfig, forms: Forms | None = None) -> web.Application:
    """The application; without `forms` it serves no sign-up or unsubscribe (404)."""
    # Imported here: those modules build on this one's helpers.
    from dispatch_tui.web import reading_routes, signup_routes, unsubscribe_routes

    app = web.Application(middlewares=[errors], client_max_size=8192)
    app[LISTING_KEY] = listing
    app[CONFIG_KEY] = config
    code = "{utility:[A-Za-z0-9_-]{1,32}}"
    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.router.add_get("/static/style.css", stylesheet)
    app.router.add_get("/schema/{name}", schema)
    app.router.add_get(f"/{code}/", utility_page)
    app.router.add_get(f"/{code}/search", search)
    app.router.add_get(f"/{code}/works.json", works_json)
    app.router.add_get(f"/{code}/calendar.ics", calendar)
    app.router.add_get(f"/{code}/cap.atom", cap_atom)
    app.router.add_get(f"/{code}/outage/{{outage:[0-9]{{1,9}}}}/notices", notices)
    if forms is not None:
        app[FORMS_KEY] = forms
        signup_routes.add_routes(app, code)
        reading_routes.add_routes(app, code)
        unsubscribe_routes.add_routes(app)
    app.router.add_get(f"/{code}", _add_slash)
    return app


async def _add_slash(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect(request.path + "/")
