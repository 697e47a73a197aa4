"""Viber callbacks carry a valid signature but can be recorded and played again: one older
(or newer) than a few minutes by its `timestamp` is refused, and the same callback twice is
handled once. Failed handling lets Viber's retry through."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Engine, insert, select, update

from dispatch_tui.domain.bot_updates import ChatText
from dispatch_tui.engine.listener import DeliveryReport, Listener
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import contact, subscriber
from tests.security.conftest import TOKEN, VIBER_TOKEN, listening, settings
from tests.storage.csvdata import load_all

USER = "01234567890A="


@dataclass
class Chats:
    seen: list[ChatText] = field(default_factory=list)
    fail_next: bool = False

    async def __call__(self, channel: str, text: ChatText) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database is locked")
        self.seen.append(text)


async def no_report(_report: DeliveryReport) -> bool:
    return True


@dataclass
class Clock:
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def viber() -> AsyncIterator[tuple[Listener, Chats, Clock]]:
    chats, clock = Chats(), Clock()
    server = Listener(
        host="127.0.0.1",
        port=0,
        token=TOKEN,
        on_report=no_report,
        on_chat=chats,
        viber_token=VIBER_TOKEN,
        clock=clock,
    )
    await server.start()
    yield server, chats, clock
    await server.close()


def callback(stamp_ms: int, token: int | None = 5741311803571721087, text: str = "/add") -> bytes:
    data: dict[str, object] = {
        "event": "message",
        "timestamp": stamp_ms,
        "sender": {"id": USER},
        "message": {"type": "text", "text": text},
    }
    if token is not None:
        data["message_token"] = token
    return json.dumps(data).encode()


async def send(port: int, body: bytes) -> tuple[int, str]:
    signature = hmac.new(VIBER_TOKEN.encode(), body, hashlib.sha256).hexdigest()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/viber/{TOKEN}",
            data=body,
            headers={"X-Viber-Content-Signature": signature},
        ) as response,
    ):
        return response.status, await response.text()


@pytest.mark.parametrize("offset_s", [-301, 301, -3600, -1_700_000_000])
async def test_a_stale_or_future_callback_is_refused(
    viber: tuple[Listener, Chats, Clock], offset_s: int
) -> None:
    server, chats, clock = viber
    status, reason = await send(server.port, callback(int((clock.now + offset_s) * 1000)))
    assert (status, reason) == (403, "stale callback")
    assert chats.seen == []


async def test_a_fresh_callback_is_taken(viber: tuple[Listener, Chats, Clock]) -> None:
    server, chats, clock = viber
    assert (await send(server.port, callback(int((clock.now - 299) * 1000))))[0] == 200
    assert [c.text for c in chats.seen] == ["/add"]


async def test_a_replayed_callback_is_a_no_op(
    viber: tuple[Listener, Chats, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    server, chats, clock = viber
    body = callback(int(clock.now * 1000))
    with caplog.at_level(logging.INFO):
        assert await send(server.port, body) == (200, "")
        clock.now += 60
        assert await send(server.port, body) == (200, "repeat")
    assert len(chats.seen) == 1
    assert "repeated Viber callback ignored" in caplog.text
    # Without a message token the body itself identifies the callback.
    tokenless = callback(int(clock.now * 1000), token=None, text="/stop")
    for _ in range(3):
        assert (await send(server.port, tokenless))[0] == 200
    assert [c.text for c in chats.seen] == ["/add", "/stop"]


async def test_a_failed_callback_can_be_retried(viber: tuple[Listener, Chats, Clock]) -> None:
    """Viber retries a callback we did not take; that retry is no replay."""
    server, chats, clock = viber
    body = callback(int(clock.now * 1000))
    chats.fail_next = True
    assert (await send(server.port, body))[0] == 500
    assert (await send(server.port, body))[0] == 200
    assert len(chats.seen) == 1


def consents(db: Engine) -> list[str]:
    with db.connect() as conn:
        query = select(contact.c.consent).where(
            contact.c.channel == "viber", contact.c.address == USER
        )
        return list(conn.execute(query).scalars())


def link(db: Engine) -> None:
    """The Viber user as an opted-in contact of a subscriber (as after a proven /add).

    A write transaction from the start (BEGIN IMMEDIATE on SQLite): a read that later
    writes fails at once when the running engine wrote in between."""
    with write_transaction(db) as conn:
        sid = conn.execute(select(subscriber.c.id).where(subscriber.c.account == "100000002"))
        values = {
            "consent": "opted_in",
            "consent_at": datetime.now(UTC),
            "consent_source": "test: linked",
        }
        existing = conn.execute(select(contact.c.id).where(contact.c.address == USER)).scalar()
        if existing is None:
            conn.execute(
                insert(contact).values(
                    subscriber_id=sid.scalar_one(), channel="viber", address=USER, **values
                )
            )
        else:
            conn.execute(update(contact).where(contact.c.id == existing).values(**values))


async def test_a_replayed_unsubscribe_after_relinking_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """The attack end to end: a recorded, signed "unsubscribed" played back after the user
    linked the account again must not opt them out a second time, nor may an old one."""
    load_all(engine, tmp_path)
    link(engine)
    async with listening(engine, settings(viber_token=VIBER_TOKEN)) as delivery:
        assert delivery.listener is not None
        port = delivery.listener.port
        now = int(time.time() * 1000)
        leave = {"event": "unsubscribed", "timestamp": now, "user_id": USER, "message_token": 99}
        body = json.dumps(leave).encode()
        assert (await send(port, body))[0] == 200
        assert consents(engine) == ["opted_out"]
        # Off the loop: the engine's own writes run from it and may hold SQLite's lock.
        await asyncio.to_thread(link, engine)
        assert await send(port, body) == (200, "repeat")
        stale = json.dumps(leave | {"timestamp": now - 3_600_000, "message_token": 7}).encode()
        assert await send(port, stale) == (403, "stale callback")
    assert consents(engine) == ["opted_in"]
