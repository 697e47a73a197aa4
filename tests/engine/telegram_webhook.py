"""The real engine with its listener taking Telegram's webhook, its replies sent
to a mock Bot API (httpx mock transport: api.telegram.org cannot be reached
here), for the bot tests that talk to it over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import httpx
from sqlalchemy import Engine

from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.telegram import TelegramSender
from tests.engine.conftest import FAST, settings
from tests.gateways import free_port

TOKEN = "bots-report-token_0123456789abcdefXYZ"
"""A report token as the listener requires: 32+ random URL-safe characters."""
SECRET = "s3"


def update(update_id: int, text: str, chat: int = 555) -> dict[str, object]:
    """A Telegram update carrying one text message from a private chat."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1700000000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "I"},
            "text": text,
        },
    }


@dataclass
class Webhook:
    session: aiohttp.ClientSession
    url: str
    sent: list[dict[str, object]] = field(default_factory=list)
    """What the engine sent to the Bot API, in order."""

    async def say(self, update_id: int, text: str, chat: int = 555) -> None:
        """One message as Telegram would deliver it, with the webhook's secret."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.session.post(
            self.url, json=update(update_id, text, chat), headers=headers
        ) as response:
            assert response.status == 200


@asynccontextmanager
async def telegram_webhook(engine: Engine) -> AsyncIterator[Webhook]:
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
        "telegram_webhook_secret": SECRET,
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
            yield Webhook(session, f"http://127.0.0.1:{port}/telegram/{TOKEN}", sent)
    finally:
        await delivery.stop()
