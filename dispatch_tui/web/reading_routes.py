"""The meter-reading form on the public web (seed 003, no registration;
storage.reading_web does the work).

`/<UTILITY>/reading`: the form (GET) and its submission (POST) → the same form
with the answer (the reading confirmed with the consumption since the last
one, or why it was not taken). Like the sign-up form (whose request checks it
shares): a CSRF token on every POST, bad input a 4xx naming the field with
nothing changed, rate limits answered 429, and an unknown account and a
wrong proof the same page, the identifier and proof not echoed.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from dispatch_tui.storage import reading_web, signup
from dispatch_tui.web import pages
from dispatch_tui.web.app import client_address
from dispatch_tui.web.signup_routes import LABELS, _form_page, _Page, _read, _storage, _text

FIELDS: Final = frozenset({"csrf", "lang", "identifier", "proof", "reading", "night"})


def _form(page: _Page, form: dict[str, Any], *, status: int = 200, **shown: str) -> web.Response:
    html = pages.reading_page(
        page.utility,
        page.language,
        as_of=page.snapshot.as_of,
        stale_since=page.snapshot.stale_since,
        form=form,
        csrf=page.csrf,
        **shown,
    )
    return page.answer(html, status)


def _empty() -> dict[str, Any]:
    return {"identifier": "", "proof": "", "reading": "", "night": ""}


async def reading_form(request: web.Request) -> web.Response:
    page = _form_page(request)
    return _form(page, _empty())


async def reading_submit(request: web.Request) -> web.Response:
    page = _Page(request)
    data = await _read(page, FIELDS, frozenset())
    form = _empty()
    for name in form:
        form[name] = _text(page, data, name)
    wanted = reading_web.WebReading(
        page.utility.code,
        form["identifier"],
        form["proof"],
        form["reading"],
        form["night"],
        page.language,
    )
    forms = page.forms
    ip = client_address(request)
    try:
        result = await _storage(
            page,
            lambda: reading_web.submit_web_reading(
                forms.writer, wanted, ip=ip, limits=forms.limits
            ),
        )
    except signup.SignupInputError as bad:
        label = page.t(LABELS.get(bad.field, bad.field))
        error = page.t("err_check", field=label, problem=str(bad))
        return _form(page, form, status=400, error=error, field=bad.field)
    status = reading_web.WebReadingStatus
    if result.status is status.TAKEN and result.intake is not None:
        if result.intake.accepted:
            return _form(page, _empty(), answer=result.intake.reply)
        return _form(page, form, status=400, error=result.intake.reply, field="reading")
    # The same page for an unknown account as for a wrong proof: neither is echoed.
    form.update(identifier="", proof="")
    if result.status is status.NO_MATCH:
        error = page.t("no_match", n=result.attempts_left)
        return _form(page, form, status=400, error=error, field="identifier")
    if result.status is status.LOCKED:
        return _form(page, form, status=403, error=page.t("locked", phone=result.helpline))
    return _form(page, form, status=429, error=page.t(f"rate_{result.limit}"))


def add_routes(app: web.Application, code: str) -> None:
    app.router.add_get(f"/{code}/reading", reading_form)
    app.router.add_post(f"/{code}/reading", reading_submit)
