"""Bots end to end with the real engine and listener: a Telegram chat links
an account over the webhook and over long polling, replies go out through
the outbox to the Bot API (httpx mock transport: api.telegram.org cannot
be reached here), and Viber callbacks need a valid signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import aiohttp
import httpx
import pytest
from sqlalchemy import Engine, select

from dispatch_tui.domain.bot_updates import ChatText
from dispatch_tui.engine.bots import TelegramPoller
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.storage.tables import contact
from tests.engine.conftest import FAST, settings, until
from tests.engine.telegram_webhook import SECRET, TOKEN, telegram_webhook, update
from tests.gateways import free_port
from tests.storage.csvdata import load_all


def consents(engine: Engine, channel: str, address: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(contact.c.consent).where(
                    contact.c.channel == channel, contact.c.address == address
                )
            ).scalars()
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_telegram_webhook_links_an_account_and_replies(
    engine: Engine, tmp_path: Path
) -> None:
    load_all(engine, tmp_path)
    async with telegram_webhook(engine) as webhook:
        for i, text in enumerate(["/start", "/add", "100000002", "UA-777002"], start=1):
            await webhook.say(i, text)
        secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with webhook.session.post(webhook.url, data=b"{not json", headers=secret) as r:
            assert r.status == 400
        async with webhook.session.post(webhook.url, json=update(9, "/stop"), headers={}) as r:
            assert r.status == 403
        await until(lambda: len(webhook.sent) == 4, what="four replies sent")
    assert consents(engine, "telegram", "555") == ["opted_in"]
    assert {m["chat_id"] for m in webhook.sent} == {"555"}
    assert "Минайська 16" in str(webhook.sent[-1]["text"])


async def test_long_polling_advances_the_offset_and_skips_junk() -> None:
    seen: list[ChatText] = []
    asked: list[str | None] = []
    batches = iter(
        [
            [update(7, "/start"), {"update_id": 8, "edited_message": {}}, "junk"],
            [update(9, "/add")],
        ]
    )

    def bot_api(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params.get("offset"))
        return httpx.Response(200, json={"ok": True, "result": next(batches, [])})

    async def on_text(channel: str, text: ChatText) -> None:
        assert channel == "telegram"
        seen.append(text)

    poller = TelegramPoller(token="1:X", on_text=on_text, transport=httpx.MockTransport(bot_api))
    assert await poller.poll_once() == 3
    assert await poller.poll_once() == 1
    await poller.close()
    assert [t.text for t in seen] == ["/start", "/add"]
    assert asked == [None, "9"]
    assert poller.offset == 10


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_viber_callbacks_need_a_valid_signature(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    port = free_port()
    env = {"engine_listen_port": str(port), "engine_report_token": TOKEN, "viber_token": "VT"}
    delivery = DeliveryEngine(
        engine, settings(**env), listen=True, senders={}, tuning=FAST, sync_seconds=0.2
    )
    await delivery.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/viber/{TOKEN}"
            for text in ("/add", "100000001", "UA-777001"):
                body = json.dumps(
                    {
                        "event": "message",
                        "timestamp": int(time.time() * 1000),
                        "sender": {"id": "01234567890A="},
                        "message": {"type": "text", "text": text},
                    }
                ).encode()
                signature = hmac.new(b"VT", body, hashlib.sha256).hexdigest()
                headers = {"X-Viber-Content-Signature": signature}
                async with session.post(url, data=body, headers=headers) as r:
                    assert r.status == 200
            forged = {"X-Viber-Content-Signature": "0" * 64}
            async with session.post(url, data=b'{"event":"unsubscribed"}', headers=forged) as r:
                assert r.status == 403
    finally:
        await delivery.stop()
    assert consents(engine, "viber", "01234567890A=") == ["opted_in"]
