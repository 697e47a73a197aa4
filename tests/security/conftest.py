"""Listener and secrets attacks: a real listener on 127.0.0.1, spoken to with aiohttp or,
where a well-behaved client would refuse to send the bytes, with a raw socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispatch_tui.config import Settings, load_settings
from dispatch_tui.engine.runner import DeliveryEngine
from tests.engine.conftest import FAST, Recording
from tests.gateways import free_port

TOKEN = "Sec-urity_T0ken-for-the-listener-tests-4xQ"
"""43 URL-safe characters, as `dispatch-tui init` makes them."""
TELEGRAM_SECRET = "tg-hook-secret_9"
VIBER_TOKEN = "viber-auth-token-4ab1"
BOT_TOKEN = "123456789:AAF-telegram-bot-token_xyz"


def settings(**env: str) -> Settings:
    """Settings from `DISPATCH_TUI_*`-style keys (without the prefix), no files read."""
    values = {"DISPATCH_TUI_ENGINE_REPORT_TOKEN": TOKEN, "DISPATCH_TUI_ENGINE_LISTEN_PORT": "0"}
    values.update({f"DISPATCH_TUI_{k.upper()}": v for k, v in env.items()})
    return load_settings(env=values, user_file=Path("/nonexistent/config.toml"))


@asynccontextmanager
async def listening(db: Engine, config: Settings) -> AsyncIterator[DeliveryEngine]:
    """The headless engine with its listener on `db`; its only sender records SMS, so
    nothing leaves the machine (replies to chats stay queued)."""
    delivery = DeliveryEngine(
        db,
        config,
        listen=True,
        senders={"sms": Recording("sms")},
        tuning=FAST,
        sync_seconds=0.2,
    )
    await delivery.start()
    try:
        yield delivery
    finally:
        await delivery.stop()


async def raw_http(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send `request` as is; the status and body of the answer."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(1_000_000), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def get(path: bytes, *headers: bytes) -> bytes:
    return b"\r\n".join([b"GET " + path + b" HTTP/1.1", b"Host: x", *headers]) + (
        b"\r\nConnection: close\r\n\r\n"
    )


def post(path: bytes, body: bytes, *headers: bytes) -> bytes:
    lines = [b"POST " + path + b" HTTP/1.1", b"Host: x", *headers]
    lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body


@pytest.fixture
def port() -> Iterator[int]:
    yield free_port()
