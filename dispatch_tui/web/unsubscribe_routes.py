"""The e-mail notices' unsubscribe link (RFC 8058) on the public web.

GET `/unsubscribe/<token>` shows a button and changes nothing: link scanners
and previews fetch links. POST with the body `List-Unsubscribe=One-Click`
unsubscribes, whether a mail client sends it (the List-Unsubscribe-Post
header) or the page's button does. No CSRF token here: a mail client cannot
carry one, and the link's token is itself the secret (storage.unsubscribe).
"""

from __future__ import annotations

import asyncio
import re
from typing import Final

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from dispatch_tui.storage.unsubscribe import PATH, UnsubscribeStatus, unsubscribe_by_token
from dispatch_tui.web import i18n, pages
from dispatch_tui.web.app import FORMS_KEY, BadRequest

FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{43}")


def _language(request: web.Request) -> str:
    choices = tuple(i18n.TEXTS)
    wanted = request.query.get("lang")
    if wanted in choices:
        return str(wanted)
    return i18n.negotiate(request.headers.get("Accept-Language", ""), choices)


def _token(request: web.Request, language: str) -> str:
    for name in request.query:
        if name != "lang" or len(request.query.getall(name)) > 1:
            raise BadRequest(
                i18n.text(language, "err_parameter", name=repr(name[:30])), language=language
            )
    token = request.match_info["token"]
    if not _TOKEN.fullmatch(token):
        raise BadRequest(i18n.text(language, "unsubscribe_unknown"), 404, language=language)
    return token


def _page(language: str, path: str, status: int = 200, **kw: object) -> web.Response:
    html = pages.unsubscribe_page(language, path, **kw)  # type: ignore[arg-type]
    return web.Response(
        text=html, status=status, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


async def _one_click(request: web.Request) -> bool:
    """Whether the body is exactly `List-Unsubscribe=One-Click`, as a form (RFC 8058 lets
    the client send it URL-encoded or as multipart/form-data)."""
    if request.content_type not in FORM_TYPES:
        return False
    try:
        data = await request.post()
    except (ValueError, UnicodeDecodeError, web.HTTPRequestEntityTooLarge):
        return False
    return list(data.items()) == [("List-Unsubscribe", "One-Click")]


async def ask(request: web.Request) -> web.Response:
    language = _language(request)
    _token(request, language)
    return _page(language, request.path, ask=True)


async def unsubscribe(request: web.Request) -> web.Response:
    language = _language(request)
    token = _token(request, language)
    if not await _one_click(request):
        raise BadRequest(i18n.text(language, "err_one_click"), language=language)
    forms = request.app[FORMS_KEY]
    try:
        result = await asyncio.to_thread(
            unsubscribe_by_token, forms.writer, token, actor=forms.actor
        )
    except (SQLAlchemyError, OSError):
        raise BadRequest(i18n.text(language, "err_unavailable"), 503, language=language) from None
    if result.status is UnsubscribeStatus.UNKNOWN:
        message = i18n.text(language, "unsubscribe_unknown")
        return _page(language, request.path, 404, ask=False, message=message, ok=False)
    done = result.status is UnsubscribeStatus.UNSUBSCRIBED
    key = "unsubscribed" if done else "unsubscribe_already"
    return _page(language, request.path, ask=False, message=i18n.text(language, key))


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH + "{token}", ask)
    app.router.add_post(PATH + "{token}", unsubscribe)
