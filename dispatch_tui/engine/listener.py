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
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    message_id: int
    status: int
    """Kannel's DLR type: 1 delivered, 2 undelivered, 4 buffered, 8 SMSC ack, 16 SMSC reject."""
    detail: str


ReportHandler = Callable[[DeliveryReport], Awaitable[bool]]
"""Applies a report; False when the message id is unknown."""


def _int_param(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "")
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
        max_body: int = 16_384,
    ) -> None:
        if not token:
            raise ValueError("the delivery-report listener needs a token")
        self.host = host
        self._port = port
        self._token = token
        self._on_report = on_report
        self.app = web.Application(client_max_size=max_body)
        """Routes may be added before `start()` (inbound SMS will be)."""
        self.app.router.add_get("/health", self._health)
        self.app.router.add_route("*", "/dlr/{token}", self._dlr)
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        return self._port

    def report_url(self, public_base: str | None = None) -> str:
        base = (public_base or f"http://{self.host}:{self.port}").rstrip("/")
        return f"{base}/dlr/{self._token}?id={{id}}&status=%d&smsc=%i&reply=%A"

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

    async def _dlr(self, request: web.Request) -> web.Response:
        if not self.token_ok(request.match_info["token"]):
            log.warning("delivery report with a wrong token from %s", request.remote)
            raise web.HTTPForbidden(text="wrong token")
        if request.can_read_body:
            await request.read()  # bounded by client_max_size: 413 beyond it
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
