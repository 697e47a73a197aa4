"""A local HTTP gateway that answers like Kannel's sendsms and counts what
it receives, per message id (taken from the dlr-url, as Kannel would call it
back). Runs on its own event loop in a thread, so the code under test can
block or run its own loop. Faults are scripted per request."""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    status: int = 202
    body: str = "0: Accepted for delivery"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (a slow or hung gateway)."""
    count: bool = True
    """Whether the gateway took the message (a 503 did not)."""


ACCEPT = Reply()

Script = Callable[[int], Reply]
"""Request number (from 1) → how to answer it."""


def message_id(query: dict[str, str]) -> str:
    dlr = query.get("dlr-url")
    if dlr:
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(dlr).query)
        return params["id"][0]
    return query.get("text", "")


class FakeKannel:
    def __init__(self, script: Script = lambda n: ACCEPT, *, port: int = 0) -> None:
        self.script = script
        self.received: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = port
        """0: any free port (known once started)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/sendsms"

    async def _handle(self, request: web.Request) -> web.Response:
        with self._lock:
            self.requests += 1
            number = self.requests
        reply = self.script(number)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.count and reply.status == 202:
            key = message_id(dict(request.query))
            with self._lock:
                self.received[key] += 1
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/cgi-bin/sendsms", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start(self) -> FakeKannel:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.received)
