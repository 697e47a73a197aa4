"""/bill over the Telegram webhook with the real engine and listener (issue 14): the
verified chat's answer and the unverified chat's refusal leave through the outbox to
the Bot API (httpx mock transport: api.telegram.org cannot be reached here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.engine.conftest import until
from tests.engine.telegram_webhook import telegram_webhook
from tests.storage.csvdata import load_all
from tests.storage.test_bill_checks import snapshot


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_bill_in_a_verified_and_an_unverified_chat(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    snapshot(engine, tmp_path, "ZOE", "100000002,850.5,UAH,2026-12-20\n", "2026-12-01")
    async with telegram_webhook(engine) as webhook:
        said = [(555, "/add"), (555, "100000002"), (555, "UA-777002"), (555, "/bill")]
        for i, (chat, text) in enumerate([*said, (777, "/bill")], start=1):
            await webhook.say(i, text, chat)
        await until(lambda: len(webhook.sent) == 5, what="five replies sent")
    by_chat: dict[str, list[str]] = {}
    for reply in webhook.sent:
        by_chat.setdefault(str(reply["chat_id"]), []).append(str(reply["text"]))
    assert "100000002: до сплати 850,50 ₴ до 20.12.26 (на 01.12.26)" in by_chat["555"]
    assert by_chat["777"] == ["Суму показуємо лише для підтвердженого рахунку. Додайте його: /add."]
