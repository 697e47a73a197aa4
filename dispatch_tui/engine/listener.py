"""The engine's HTTP listener for delivery reports (aiohttp.web).

Kannel calls the `dlr-url` we gave it: `/dlr/<token>?id=<message>&status=%d…`.
The token keeps strangers from marking messages delivered; the body is
bounded; a report for a message we do not know is answered 200 (so Kannel
does not retry it forever) and logged; applying the same report twice is
harmless because storage makes reports idempotent. The backlog is large:
smsbox fires callbacks over many parallel connections (recipe gotcha 6).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from dispatch_tui.domain.bot_updates import telegram_update, viber_event, viber_signature_ok
from dispatch_tui.engine.bots import ChatHandler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    """One Kannel DLR callback, by our message id (the dlr-url carries it, so a
    report may arrive before the sender's result is even recorded)."""

    message_id: int
    status: int
    """Kannel's DLR type: 1 delivered, 2 undelivered, 4 buffered, 8 SMSC ack, 16 SMSC reject."""
    detail: str


ReportHandler = Callable[[DeliveryReport], Awaitable[bool]]
"""Applies a report; False when the message id is unknown."""


@dataclass(frozen=True)
class InboundSms:
    sender: str
    receiver: str
    text: str
    gateway_id: str


InboundHandler = Callable[[InboundSms], Awaitable[None]]
"""Handles an inbound SMS; raises ValueError for input that is not one."""


def _int_param(request: web.Request, name: str) -> int:
    raw = request.query.get(name)
    if raw is None:
        raise web.HTTPBadRequest(text=f"missing parameter {name!r}")
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text=f"parameter {name!r} must be an integer, got {raw[:40]!r}"
        ) from None


class Listener:
    """Start with `await start()`; `report_url()` is the dlr-url template for Kannel."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        token: str,
        on_report: ReportHandler,
        on_inbound: InboundHandler | None = None,
        on_chat: ChatHandler | None = None,
        telegram_secret: str = "",
        viber_token: str = "",
        max_body: int = 16_384,
    ) -> None:
        if not token:
            raise ValueError("the delivery-report listener needs a token")
        self.host = host
        self._port = port
        self._token = token
        self._on_report = on_report
        self._on_inbound = on_inbound
        self._on_chat = on_chat
        self._telegram_secret = telegram_secret
        self._viber_token = viber_token
        self.app = web.Application(client_max_size=max_body)
        """Routes may be added before `start()` (inbound SMS will be)."""
        self.app.router.add_get("/health", self._health)
        self.app.router.add_route("*", "/dlr/{token}", self._dlr)
        if on_inbound is not None:
            self.app.router.add_route("*", "/mo/{token}", self._mo)
        if on_chat is not None:
            self.app.router.add_post("/telegram/{token}", self._telegram)
            if viber_token:
                self.app.router.add_post("/viber/{token}", self._viber)
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        return self._port

    def _base(self, public_base: str | None) -> str:
        """Where Kannel reaches us; a wildcard bind address is not one to call."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return (public_base or f"http://{host}:{self.port}").rstrip("/")

    def report_url(self, public_base: str | None = None) -> str:
        """The dlr-url template for `KannelSender`: `{id}` is ours, `%d`… Kannel's."""
        return f"{self._base(public_base)}/dlr/{self._token}?id={{id}}&status=%d&smsc=%i&reply=%A"

    def inbound_url(self, public_base: str | None = None) -> str:
        """Kannel's sms-service `get-url` for inbound SMS."""
        base = self._base(public_base)
        return f"{base}/mo/{self._token}?from=%p&to=%P&text=%a&id=%I"

    def token_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self._token.encode())

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port, backlog=1024)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _checked(self, request: web.Request, what: str) -> None:
        if not self.token_ok(request.match_info["token"]):
            log.warning("%s with a wrong token from %s", what, request.remote)
            raise web.HTTPForbidden(text="wrong token")
        if request.can_read_body:
            await request.read()  # bounded by client_max_size: 413 beyond it

    async def _mo(self, request: web.Request) -> web.Response:
        """Kannel's get-url for inbound SMS; the empty answer is not sent back as SMS
        (sms-service max-messages = 0): replies go through the outbox."""
        await self._checked(request, "inbound SMS")
        assert self._on_inbound is not None
        query = request.query
        missing = [name for name in ("from", "text") if name not in query]
        if missing:
            raise web.HTTPBadRequest(text=f"missing parameter {missing[0]!r}")
        sms = InboundSms(query["from"], query.get("to", ""), query["text"], query.get("id", ""))
        try:
            await self._on_inbound(sms)
        except ValueError as exc:
            log.warning("inbound SMS refused: %s", exc)
            raise web.HTTPBadRequest(text=str(exc)) from None
        except Exception:
            log.exception("handling an inbound SMS from %s failed", sms.sender)
            raise web.HTTPInternalServerError(text="not handled") from None
        return web.Response(text="")

    async def _json(self, body: bytes) -> object:
        try:
            return json.loads(body)
        except ValueError:
            return None

    async def _telegram(self, request: web.Request) -> web.Response:
        """Telegram's webhook; it retries non-2xx answers, so junk is answered 200."""
        await self._checked(request, "Telegram update")
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if self._telegram_secret and not hmac.compare_digest(secret, self._telegram_secret):
            log.warning("Telegram update with a wrong secret from %s", request.remote)
            raise web.HTTPForbidden(text="wrong secret")
        text = telegram_update(await self._json(await request.read()))
        if text is not None and self._on_chat is not None:
            await self._on_chat("telegram", text)
        return web.Response(text="")

    async def _viber(self, request: web.Request) -> web.Response:
        """Viber's webhook; the signature is checked on the raw body before parsing."""
        await self._checked(request, "Viber callback")
        body = await request.read()
        signature = request.headers.get("X-Viber-Content-Signature")
        if not viber_signature_ok(body, self._viber_token, signature):
            log.warning("Viber callback with a bad signature from %s", request.remote)
            raise web.HTTPForbidden(text="bad signature")
        text = viber_event(await self._json(body))
        if text is not None and self._on_chat is not None:
            await self._on_chat("viber", text)
        return web.Response(text="")

    async def _dlr(self, request: web.Request) -> web.Response:
        await self._checked(request, "delivery report")
        report = DeliveryReport(
            message_id=_int_param(request, "id"),
            status=_int_param(request, "status"),
            detail=" ".join(
                f"{k}={request.query[k]}" for k in ("smsc", "reply") if request.query.get(k)
            )[:200],
        )
        try:
            known = await self._on_report(report)
        except Exception:
            log.exception("applying delivery report for message %d failed", report.message_id)
            raise web.HTTPInternalServerError(text="report not applied") from None
        if not known:
            log.warning("delivery report for unknown message %d ignored", report.message_id)
            return web.Response(text="unknown message, ignored")
        return web.Response(text="ok")
