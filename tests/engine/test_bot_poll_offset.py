"""Telegram long polling loses no update when the database fails: the offset
(which confirms updates to Telegram) moves past an update only once it is
stored, so an update whose store failed is fetched again. The Bot API is an
httpx mock transport that keeps unconfirmed updates like Telegram does; the
database is real, and the failure is another connection holding the lock
the store needs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from dispatch_tui.domain.bot_updates import ChatText
from dispatch_tui.engine.bots import TelegramPoller
from dispatch_tui.storage import bot_chats
from dispatch_tui.storage.db import create_db_engine, is_sqlite, write_transaction
from dispatch_tui.storage.tables import bot_chat, message
from tests.engine.telegram_webhook import update

LOCK_WAIT_MS = 200


class BotApi:
    """getUpdates as Telegram answers it: every update not yet confirmed by an offset."""

    def __init__(self) -> None:
        self.updates: list[dict[str, object]] = []
        self.offsets: list[int | None] = []

    def add(self, update_id: int, chat: int, text: str) -> None:
        self.updates.append(update(update_id, text, chat))

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        raw = request.url.params.get("offset")
        offset = None if raw is None else int(raw)
        self.offsets.append(offset)
        pending = [u for u in self.updates if offset is None or int(str(u["update_id"])) >= offset]
        if not pending:
            await asyncio.sleep(0.05)  # a long poll that timed out, shortened
        return httpx.Response(200, json={"ok": True, "result": pending})


def impatient(db_url: str) -> Engine:
    """The store's engine, waiting only briefly for a lock, so a held database fails it."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return create_db_engine(db_url, busy_timeout_ms=LOCK_WAIT_MS)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, connect_args={"options": f"-c lock_timeout={LOCK_WAIT_MS}"})


@contextmanager
def held(engine: Engine) -> Iterator[None]:
    """Another process holds what storing a chat message needs."""
    with write_transaction(engine) as conn:  # on SQLite: BEGIN IMMEDIATE, the write lock
        if not is_sqlite(conn):
            conn.exec_driver_sql("LOCK TABLE bot_chat IN ACCESS EXCLUSIVE MODE")
        yield


def stored(engine: Engine) -> dict[str, int | None]:
    with engine.connect() as conn:
        rows = conn.execute(select(bot_chat.c.chat_id, bot_chat.c.last_update_id))
        return {r.chat_id: r.last_update_id for r in rows}


async def until(condition: Callable[[], bool]) -> None:
    while not await asyncio.to_thread(condition):
        await asyncio.sleep(0.05)


def replies(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(message)).scalar_one())


async def test_an_update_whose_store_fails_is_fetched_again(engine: Engine, db_url: str) -> None:
    store = impatient(db_url)

    async def on_text(channel: str, text: ChatText) -> None:
        await asyncio.to_thread(
            bot_chats.handle_chat_message,
            store,
            channel,
            text.chat_id,
            text.text,
            update_id=text.update_id,
        )

    api = BotApi()
    poller = TelegramPoller(token="1:X", on_text=on_text, transport=httpx.MockTransport(api))
    try:
        api.add(41, 555, "/start")
        assert await poller.poll_once() == 1
        assert poller.offset == 42 and stored(engine) == {"555": 41}

        api.add(42, 556, "/start")
        with held(engine), pytest.raises(OperationalError):
            await poller.poll_once()
        assert poller.offset == 42, "the offset confirmed an update that was not stored"
        assert stored(engine) == {"555": 41}

        assert await poller.poll_once() == 1  # update 42 again: Telegram still has it
        assert poller.offset == 43
        assert stored(engine) == {"555": 41, "556": 42}
        assert await poller.poll_once() == 0
        assert api.offsets == [None, 42, 42, 43]
        assert replies(engine) == 2  # one welcome per chat, none twice
    finally:
        await poller.close()
        store.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_polling_loop_retries_until_the_update_is_stored(
    engine: Engine, db_url: str
) -> None:
    store = impatient(db_url)
    failures: list[Exception] = []

    async def on_text(channel: str, text: ChatText) -> None:
        try:
            await asyncio.to_thread(
                bot_chats.handle_chat_message,
                store,
                channel,
                text.chat_id,
                text.text,
                update_id=text.update_id,
            )
        except Exception as exc:
            failures.append(exc)
            raise

    api = BotApi()
    api.add(7, 555, "/start")
    poller = TelegramPoller(
        token="1:X", on_text=on_text, transport=httpx.MockTransport(api), retry_seconds=0.05
    )
    task = asyncio.create_task(poller.run())
    try:
        with held(engine):
            await asyncio.wait_for(until(lambda: len(failures) >= 2), 10)
        await asyncio.wait_for(until(lambda: "555" in stored(engine)), 10)
        assert poller.offset == 8
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poller.close()
        store.dispose()
