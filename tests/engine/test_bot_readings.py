"""A meter reading by Telegram end to end (seed 003): the real engine and listener,
the reply through the outbox to the Bot API (httpx mock transport); a chat that has
verified nothing is refused, one that has gets its reading taken and confirmed."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import httpx
import pytest
from sqlalchemy import Engine, select

from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.telegram import TelegramSender
from dispatch_tui.storage.tables import meter_reading
from tests.engine.conftest import FAST, settings, until
from tests.engine.test_bots import TOKEN, update
from tests.gateways import free_port
from tests.storage.csvdata import load_all


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_reading_over_the_telegram_webhook(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    sent: list[dict[str, object]] = []

    def bot_api(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"ok": True, "result": {"message_id": len(sent)}})

    port = free_port()
    env = {
        "engine_listen_port": str(port),
        "engine_report_token": TOKEN,
        "telegram_token": "1:X",
        "telegram_updates": "webhook",
        "telegram_webhook_secret": "s3",
    }
    delivery = DeliveryEngine(
        engine,
        settings(**env),
        listen=True,
        senders={"telegram": TelegramSender(token="1:X", transport=httpx.MockTransport(bot_api))},
        tuning=FAST,
        sync_seconds=0.2,
    )
    await delivery.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/telegram/{TOKEN}"
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3"}
            # Chat 555 has verified nothing; 123456789 is Олена's (account 100000001).
            talk = [(555, "/reading"), (123456789, "/reading"), (123456789, "12 345")]
            for i, (chat, text) in enumerate(talk, start=1):
                async with session.post(url, json=update(i, text, chat), headers=headers) as r:
                    assert r.status == 200
        await until(lambda: len(sent) == 3, what="three replies sent")
    finally:
        await delivery.stop()
    by_chat = [(m["chat_id"], str(m["text"])) for m in sent]
    assert (
        "555",
        "Спершу підтвердіть рахунок: /add. Покази приймаються лише від підтверджених.",
    ) in by_chat
    [answer] = [t for c, t in by_chat if c == "123456789" and not t.startswith("Надішліть")]
    with engine.connect() as conn:
        row = conn.execute(select(meter_reading)).one()
    assert (row.channel, row.chat, row.value_wh) == ("telegram", "123456789", 12_345_000)
    # The real clock decides whether the window is open: either answer is the right one.
    if row.status == "accepted":
        assert answer == f"Показ 12345 за {row.period[5:]}.{row.period[:4]} прийнято. Дякуємо!"
    else:
        assert row.reason == "outside_window" and answer.startswith("Покази приймаються з ")
