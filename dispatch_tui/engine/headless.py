"""`dispatch-tui engine`: the delivery engine with its listener, no screen."""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy import Engine

from dispatch_tui.config import Settings
from dispatch_tui.engine import metrics
from dispatch_tui.engine.runner import DeliveryEngine

log = logging.getLogger(__name__)


async def run_headless(db: Engine, settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (in-flight sends are recorded).

    The listener's URLs are logged with the token as ***, so an operator can check what to
    give Kannel and the bots without the secret reaching the journal.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = DeliveryEngine(db, settings, kind="engine", listen=True)
    await engine.start()
    listener = engine.listener
    if listener is not None:
        public = settings.engine_public_url or None
        log.info(
            "listening on %s:%s; delivery reports: %s; inbound SMS: %s; metrics: %s%s",
            settings.engine_listen_host,
            listener.port,
            listener.redact(listener.report_url(public)),
            listener.redact(listener.inbound_url(public)),
            f"http://{settings.engine_listen_host}:{listener.port}",
            metrics.PATH,
        )
    try:
        await stop.wait()
    finally:
        log.info("engine %s stopping", engine.id)
        await engine.stop()
