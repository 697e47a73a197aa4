"""A forged Telegram update (no secret header) must not act: the webhook route exists only
when `telegram.updates = webhook`, which needs a secret; without the header, or with a wrong
or non-ASCII one, the update is refused and nothing changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Engine, insert, select

from dispatch_tui.config import ConfigError
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.storage.tables import bot_chat, contact, subscriber
from tests.security.conftest import (
    BOT_TOKEN,
    TELEGRAM_SECRET,
    TOKEN,
    listening,
    post,
    raw_http,
    settings,
)
from tests.storage.csvdata import load_all

CHAT = 555


def stop_update(update_id: int = 1) -> bytes:
    message = {"message_id": 1, "chat": {"id": CHAT, "type": "private"}, "text": "/stop"}
    return json.dumps({"update_id": update_id, "message": message}).encode()


def consents(db: Engine) -> list[str]:
    with db.connect() as conn:
        query = select(contact.c.consent).where(
            contact.c.channel == "telegram", contact.c.address == str(CHAT)
        )
        return list(conn.execute(query).scalars())


def link(db: Engine, tmp_path: Path) -> None:
    load_all(db, tmp_path)
    with db.begin() as conn:
        sid = conn.execute(
            select(subscriber.c.id).where(subscriber.c.account == "100000002")
        ).scalar_one()
        conn.execute(
            insert(contact).values(
                subscriber_id=sid,
                channel="telegram",
                address=str(CHAT),
                consent="opted_in",
                consent_at=datetime.now(UTC),
                consent_source="test: linked",
            )
        )


async def forge(port: int, *headers: bytes) -> int:
    return (await raw_http(port, post(f"/telegram/{TOKEN}".encode(), stop_update(), *headers)))[0]


async def test_a_forged_update_without_the_secret_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    link(engine, tmp_path)
    webhook = settings(
        telegram_token=BOT_TOKEN,
        telegram_updates="webhook",
        telegram_webhook_secret=TELEGRAM_SECRET,
    )
    async with listening(engine, webhook) as delivery:
        assert delivery.listener is not None
        port = delivery.listener.port
        assert await forge(port) == 403
        assert await forge(port, b"X-Telegram-Bot-Api-Secret-Token: " + b"x" * 16) == 403
        assert await forge(port, b"X-Telegram-Bot-Api-Secret-Token: \xe2\x82\xac") == 403
        assert await forge(port, b"X-Telegram-Bot-Api-Secret-Token: ") == 403
    assert consents(engine) == ["opted_in"]
    with engine.connect() as conn:
        assert conn.execute(select(bot_chat.c.id)).first() is None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "telegram",
    [
        {"telegram_token": BOT_TOKEN, "telegram_updates": "polling"},
        {"telegram_token": BOT_TOKEN, "telegram_webhook_secret": TELEGRAM_SECRET},
        {"telegram_updates": "webhook", "telegram_webhook_secret": TELEGRAM_SECRET},
        {},
    ],
    ids=["polling", "polling with a secret", "no bot token", "no bot"],
)
async def test_no_webhook_route_unless_the_bot_uses_the_webhook(
    engine: Engine, tmp_path: Path, telegram: dict[str, str]
) -> None:
    """Only the listener is started: a polling engine would call api.telegram.org."""
    link(engine, tmp_path)
    delivery = DeliveryEngine(engine, settings(**telegram), listen=True, senders={})
    assert delivery.listener is not None
    await delivery.listener.start()
    try:
        secret = b"X-Telegram-Bot-Api-Secret-Token: " + TELEGRAM_SECRET.encode()
        assert await forge(delivery.listener.port, secret) == 404
        assert await forge(delivery.listener.port) == 404
    finally:
        await delivery.listener.close()
    assert consents(engine) == ["opted_in"]


def test_webhook_mode_without_a_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret") as caught:
        settings(telegram_token=BOT_TOKEN, telegram_updates="webhook")
    assert "env DISPATCH_TUI_TELEGRAM_UPDATES" in str(caught.value)


@pytest.mark.parametrize("secret", ["has space", "é" * 8, "x" * 257])
def test_a_secret_telegram_would_refuse_is_a_config_error(secret: str) -> None:
    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret = \"\*\*\*\"") as caught:
        settings(telegram_updates="webhook", telegram_webhook_secret=secret)
    assert secret not in str(caught.value)


async def test_the_right_secret_is_taken(engine: Engine, tmp_path: Path) -> None:
    """The control: the same update with the secret does reach the bot."""
    link(engine, tmp_path)
    webhook = settings(
        telegram_token=BOT_TOKEN,
        telegram_updates="webhook",
        telegram_webhook_secret=TELEGRAM_SECRET,
    )
    async with listening(engine, webhook) as delivery:
        assert delivery.listener is not None
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{delivery.listener.port}/telegram/{TOKEN}"
            headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            async with session.post(url, data=stop_update(), headers=headers) as response:
                assert response.status == 200
    with engine.connect() as conn:
        assert conn.execute(select(bot_chat.c.id)).first() is not None
