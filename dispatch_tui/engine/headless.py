"""`dispatch-tui engine`: the delivery engine with its listener, no screen."""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy import Engine

from dispatch_tui.config import Settings
from dispatch_tui.engine.runner import DeliveryEngine

log = logging.getLogger(__name__)


async def run_headless(db: Engine, settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (in-flight sends are recorded)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = DeliveryEngine(db, settings, kind="engine", listen=True)
    await engine.start()
    log.info(
        "listening for delivery reports on %s:%s",
        settings.engine_listen_host,
        engine.listener.port if engine.listener else "-",
    )
    try:
        await stop.wait()
    finally:
        log.info("engine %s stopping", engine.id)
        await engine.stop()
