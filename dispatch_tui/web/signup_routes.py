"""Sign-up by confirmation code on the public web (issue 13; storage.signup does the work).

`/<UTILITY>/signup`: the form (GET) and its submission (POST) → a page with a
code form per address the code went to; `/signup/confirm` checks a code,
`/signup/resend` sends a new one. Every POST needs the form's CSRF token
(`web.csrf`); any bad input is a 4xx page naming the field, with nothing
changed. Rate limits are the storage's (per IP, phone or e-mail address,
account), answered 429. An unknown account and a wrong proof get the same
page: the form comes back without the identifier and proof either way.

The code page carries each pending code's handle (the sign-up's secret
token, its channel and the masked address) from form to form, so confirming
one address keeps the other's form.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable
from typing import Any, Final, TypeVar

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.exc import SQLAlchemyError

from dispatch_tui.domain.public_works import PublicUtility
from dispatch_tui.storage import signup
from dispatch_tui.web import csrf, i18n, pages
from dispatch_tui.web.app import (
    FORMS_KEY,
    NOT_TEXT,
    BadRequest,
    client_address,
    snapshot_of,
    utility_of,
)
from dispatch_tui.web.listing import Snapshot

T = TypeVar("T")

LIMITS: Final = {
    "identifier": 40,
    "proof": 64,
    "phone": 40,
    "email": 320,
    "language": 8,
    "code": 12,
    "token": 43,
    "reading": 40,
    "night": 40,
}
SIGNUP_FIELDS: Final = frozenset(
    {"csrf", "lang", "identifier", "proof", "phone", "email", "channels", "language"}
)
CODE_FIELDS: Final = frozenset({"csrf", "lang", "token", "code", "pending"})
RESEND_FIELDS: Final = frozenset({"csrf", "lang", "token", "pending"})
LABELS: Final = {
    "identifier": "identifier",
    "proof": "proof",
    "phone": "phone",
    "email": "email",
    "channels": "channels",
    "language": "notice_language",
    "code": "code",
    "token": "code",
    "pending": "code",
    "reading": "reading",
    "night": "night",
}
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
HTML: Final = "text/html"


class _Page:
    """One request's utility, language and CSRF token: what every answer needs."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.forms = request.app[FORMS_KEY]
        self.snapshot: Snapshot = snapshot_of(request)
        self.utility: PublicUtility = utility_of(request, self.snapshot)
        self.choices = i18n.languages_for(self.utility.language)
        self.language = self.choices[0]
        self.csrf = csrf.token_for(request, self.forms.secret)

    def t(self, key: str, **values: Any) -> str:
        return i18n.text(self.language, key, **values)

    def bad(self, key: str, status: int = 400, **values: Any) -> BadRequest:
        """A 4xx error page in this page's language."""
        return BadRequest(self.t(key, **values), status, language=self.language)

    def answer(self, html: str, status: int = 200) -> web.Response:
        response = web.Response(
            text=html, status=status, content_type=HTML, headers={"Cache-Control": "no-store"}
        )
        csrf.set_cookie(self.request, response, self.csrf)
        return response

    def signup_form(
        self, form: dict[str, Any], *, status: int = 200, error: str = "", field: str = ""
    ) -> web.Response:
        html = pages.signup_page(
            self.utility,
            self.language,
            as_of=self.snapshot.as_of,
            stale_since=self.snapshot.stale_since,
            form=form,
            csrf=self.csrf,
            error=error,
            field=field,
        )
        return self.answer(html, status)

    def codes(
        self,
        pending: list[pages.PendingView],
        *,
        status: int = 200,
        done: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
        error: str = "",
    ) -> web.Response:
        html = pages.codes_page(
            self.utility,
            self.language,
            as_of=self.snapshot.as_of,
            stale_since=self.snapshot.stale_since,
            pending=pending,
            csrf=self.csrf,
            done=done,
            notes=notes,
            error=error,
        )
        return self.answer(html, status)


def _empty_form(utility: PublicUtility) -> dict[str, Any]:
    return {
        "identifier": "",
        "proof": "",
        "phone": "",
        "email": "",
        "channels": (),
        "language": utility.language,
    }


async def _read(page: _Page, allowed: frozenset[str], repeatable: frozenset[str]) -> Any:
    """The POSTed form, after the language and CSRF checks (403 on a bad token)."""
    request = page.request
    if request.content_type != "application/x-www-form-urlencoded":
        raise page.bad("err_form", 415)
    try:
        data = await request.post()
    except (ValueError, UnicodeDecodeError, web.HTTPRequestEntityTooLarge):
        raise page.bad("err_form", 413 if request.content_length else 400) from None
    wanted = data.get("lang", request.query.get("lang", page.language))
    if isinstance(wanted, str) and wanted in page.choices:
        page.language = wanted
    sent = data.get(csrf.FIELD, "")
    if not isinstance(sent, str) or not csrf.valid(request, sent, page.forms.secret):
        raise page.bad("err_csrf", 403)
    for name in data:
        if name not in allowed:
            raise page.bad("err_parameter", name=repr(name[:30]))
        if name not in repeatable and len(data.getall(name)) > 1:
            raise page.bad("err_parameter", name=repr(name[:30]))
    return data


def _text(page: _Page, data: MultiDictProxy[Any], name: str) -> str:
    """One text field, trimmed; too long or not text is a 400 naming it."""
    value = data.get(name, "")
    label = page.t(LABELS.get(name, name))
    if not isinstance(value, str):
        raise page.bad("err_control", field=label)
    value = value.strip()
    limit = LIMITS[name]
    if len(value) > limit:
        raise page.bad("err_too_long", field=label, limit=limit)
    if any(ch == "\ufffd" or unicodedata.category(ch) in NOT_TEXT for ch in value):
        raise page.bad("err_control", field=label)
    return value


def _pending(page: _Page, data: MultiDictProxy[Any]) -> list[pages.PendingView]:
    """The code page's handles, checked (they come back from the browser)."""
    found = []
    for value in data.getall("pending", [])[:2]:
        token, _, rest = str(value).partition(":")
        channel, _, shown = rest.partition(":")
        if not (
            _TOKEN.fullmatch(token)
            and channel in signup.CHANNELS
            and 0 < len(shown) <= 80
            and shown.isprintable()
        ):
            raise page.bad("err_check", field=page.t("code"), problem="?")
        found.append(pages.PendingView(token, channel, shown))
    return found


def _token(page: _Page, data: MultiDictProxy[Any]) -> str:
    token = _text(page, data, "token")
    if not _TOKEN.fullmatch(token):
        raise page.bad("unknown_signup")
    return token


async def _storage(page: _Page, call: Callable[[], T]) -> T:
    """A storage call off the event loop; the database away is a 503."""
    try:
        return await asyncio.to_thread(call)
    except (SQLAlchemyError, OSError):
        raise page.bad("err_unavailable", 503) from None


def _form_page(request: web.Request) -> _Page:
    """The page of an empty form: its only parameter is `lang`, once."""
    page = _Page(request)
    wanted = request.query.get("lang")
    for name in request.query:
        if name != "lang" or len(request.query.getall(name)) > 1:
            raise page.bad("err_parameter", name=repr(name[:30]))
    if wanted is not None:
        if wanted not in page.choices:
            choices = ", ".join(page.choices)
            raise page.bad("err_language", lang=repr(wanted[:20]), choices=choices)
        page.language = wanted
    return page


async def signup_form(request: web.Request) -> web.Response:
    page = _form_page(request)
    return page.signup_form(_empty_form(page.utility))


async def signup_submit(request: web.Request) -> web.Response:
    page = _Page(request)
    data = await _read(page, SIGNUP_FIELDS, frozenset({"channels"}))
    form = _empty_form(page.utility)
    for name in ("identifier", "proof", "phone", "email", "language"):
        form[name] = _text(page, data, name)
    channels = tuple(str(c) for c in data.getall("channels", []))
    form["channels"] = channels
    wanted = signup.SignupRequest(
        utility=page.utility.code,
        identifier=form["identifier"],
        proof=form["proof"],
        phone=form["phone"],
        email=form["email"],
        channels=channels,
        language=form["language"],
    )
    forms = page.forms
    ip = client_address(request)
    try:
        result = await _storage(
            page,
            lambda: signup.start_signup(forms.writer, wanted, ip=ip, limits=forms.limits),
        )
    except signup.SignupInputError as bad:
        label = page.t(LABELS.get(bad.field, bad.field))
        error = page.t("err_check", field=label, problem=str(bad))
        return page.signup_form(form, status=400, error=error, field=bad.field)
    if result.status is signup.StartStatus.CODE_SENT:
        pending = [pages.PendingView(p.token, p.channel, p.shown_to) for p in result.pending]
        notes = tuple(page.t("code_sent", to=p.shown_to) for p in pending)
        return page.codes(pending, notes=notes)
    # The same page for an unknown account as for a wrong proof: neither is echoed.
    form.update(identifier="", proof="")
    if result.status is signup.StartStatus.NO_MATCH:
        error = page.t("no_match", n=result.attempts_left)
        return page.signup_form(form, status=400, error=error, field="identifier")
    if result.status is signup.StartStatus.LOCKED:
        return page.signup_form(form, status=403, error=page.t("locked", phone=result.helpline))
    return page.signup_form(form, status=429, error=page.t(f"rate_{result.limit}"))


async def confirm(request: web.Request) -> web.Response:
    page = _Page(request)
    data = await _read(page, CODE_FIELDS, frozenset({"pending"}))
    pending = _pending(page, data)
    token = _token(page, data)
    code = _text(page, data, "code")
    forms = page.forms
    ip = client_address(request)
    try:
        result = await _storage(
            page,
            lambda: signup.confirm_signup(
                forms.writer, token, code, ip=ip, actor=forms.actor, limits=forms.limits
            ),
        )
    except signup.SignupInputError as bad:
        error = page.t("err_check", field=page.t("code"), problem=str(bad))
        return page.codes(pending, status=400, error=error)
    status = signup.ConfirmStatus
    this = next((p for p in pending if p.token == token), None)
    shown = this.shown_to if this else ""
    if result.status in (status.ACTIVE, status.CONFIRMED):
        key = "signed_up" if result.status is status.ACTIVE else "signed_up_soon"
        left = [p for p in pending if p.token != token]
        return page.codes(left, done=(page.t(key, to=shown),))
    errors = {
        status.WRONG_CODE: (400, page.t("wrong_code", n=result.tries_left)),
        status.EXPIRED: (400, page.t("code_expired")),
        status.SPENT: (400, page.t("code_spent")),
        status.UNKNOWN: (400, page.t("unknown_signup")),
        status.RATE_LIMITED: (429, page.t("rate_confirm")),
    }
    code_status, error = errors[result.status]
    return page.codes(pending, status=code_status, error=error)


async def resend(request: web.Request) -> web.Response:
    page = _Page(request)
    data = await _read(page, RESEND_FIELDS, frozenset({"pending"}))
    pending = _pending(page, data)
    token = _token(page, data)
    forms = page.forms
    ip = client_address(request)
    result = await _storage(
        page, lambda: signup.resend_code(forms.writer, token, ip=ip, limits=forms.limits)
    )
    if result.status is signup.StartStatus.CODE_SENT:
        notes = tuple(page.t("code_sent", to=p.shown_to) for p in result.pending)
        return page.codes(pending, notes=notes)
    if result.status is signup.StartStatus.RATE_LIMITED:
        return page.codes(pending, status=429, error=page.t("rate_address"))
    return page.codes(pending, status=400, error=page.t("unknown_signup"))


def add_routes(app: web.Application, code: str) -> None:
    app.router.add_get(f"/{code}/signup", signup_form)
    app.router.add_post(f"/{code}/signup", signup_submit)
    app.router.add_post(f"/{code}/signup/confirm", confirm)
    app.router.add_post(f"/{code}/signup/resend", resend)
