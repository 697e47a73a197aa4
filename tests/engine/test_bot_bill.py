"""/bill over the Telegram webhook with the real engine and listener (issue 14): the
verified chat's answer and the unverified chat's refusal leave through the outbox to
the Bot API (httpx mock transport: api.telegram.org cannot be reached here)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import httpx
import pytest
from sqlalchemy import Engine

from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.telegram import TelegramSender
from tests.engine.conftest import FAST, settings, until
from tests.engine.test_bots import TOKEN, update
from tests.gateways import free_port
from tests.storage.csvdata import load_all
from tests.storage.test_bill_checks import snapshot


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_bill_in_a_verified_and_an_unverified_chat(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    snapshot(engine, tmp_path, "ZOE", "100000002,850.5,UAH,2026-12-20\n", "2026-12-01")
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
    telegram = TelegramSender(token="1:X", transport=httpx.MockTransport(bot_api))
    delivery = DeliveryEngine(
        engine,
        settings(**env),
        listen=True,
        senders={"telegram": telegram},
        tuning=FAST,
        sync_seconds=0.2,
    )
    await delivery.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/telegram/{TOKEN}"
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3"}
            said = [(555, "/add"), (555, "100000002"), (555, "UA-777002"), (555, "/bill")]
            for i, (chat, text) in enumerate([*said, (777, "/bill")], start=1):
                async with session.post(url, json=update(i, text, chat), headers=headers) as r:
                    assert r.status == 200
        await until(lambda: len(sent) == 5, what="five replies sent")
    finally:
        await delivery.stop()
    by_chat: dict[str, list[str]] = {}
    for reply in sent:
        by_chat.setdefault(str(reply["chat_id"]), []).append(str(reply["text"]))
    assert "100000002: до сплати 850,50 ₴ до 20.12.26 (на 01.12.26)" in by_chat["555"]
    assert by_chat["777"] == ["Суму показуємо лише для підтвердженого рахунку. Додайте його: /add."]
