"""`dispatch-tui web`: the public web application in its own process and port.

Apart from the engine's listener on purpose: it faces the internet (behind
a reverse proxy). The listing, search, feeds and notices read through
connections that refuse to write (SQLite `query_only`, PostgreSQL read-only
transactions); only sign-up and unsubscribe use a second engine that may,
and on PostgreSQL both run as a role that may SELECT only public columns and
write only sign-ups, their codes and opt-outs (`dispatch_web`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from aiohttp import web
from sqlalchemy import Engine, event

from dispatch_tui.config import Settings
from dispatch_tui.os_user import current_login
from dispatch_tui.storage.db import create_db_engine, is_sqlite
from dispatch_tui.web import csrf
from dispatch_tui.web.app import AccessLog, Forms, WebConfig, access_log, build_app
from dispatch_tui.web.listing import Listing

log = logging.getLogger(__name__)


def read_only(db: Engine) -> None:
    """Make every connection of `db` refuse writes, whatever the role may do."""

    @event.listens_for(db, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if is_sqlite(db):
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        cursor.close()


def base_url(settings: Settings, port: int) -> str:
    return (settings.web_public_url or f"http://{settings.web_listen_host}:{port}").rstrip("/")


async def run_web(db: Engine, settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then stop: no new connections, requests in flight
    finish (a few seconds at most), the refresher ends. csrf.SecretError when the form
    secret cannot be used."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    secret = csrf.load_secret(settings.web_secret_file)
    writer = create_db_engine(db.url.render_as_string(hide_password=False))
    read_only(db)
    listing = Listing(db, refresh_seconds=settings.web_refresh_seconds)
    await listing.refresh()
    refresher = asyncio.create_task(listing.run())
    config = WebConfig(
        base_url(settings, settings.web_listen_port),
        trust_forwarded_for=settings.web_trust_forwarded_for,
    )
    app = build_app(listing, config, Forms(writer, secret, current_login()))
    runner = web.AppRunner(
        app, access_log=access_log, access_log_class=AccessLog, shutdown_timeout=5.0
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.web_listen_host, settings.web_listen_port, backlog=1024)
    try:
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else settings.web_listen_port
        config.base_url = base_url(settings, port)
        log.info(
            "public web on http://%s:%s (public URL %s)",
            settings.web_listen_host,
            port,
            base_url(settings, port),
        )
        await stop.wait()
    finally:
        log.info("public web stopping")
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        await runner.cleanup()
        writer.dispose()
