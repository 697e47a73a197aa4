"""A meter reading by Telegram end to end (seed 003): the real engine and listener,
the reply through the outbox to the Bot API (httpx mock transport); a chat that has
verified nothing is refused, one that has gets its reading taken and confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.storage.tables import meter_reading
from tests.engine.conftest import until
from tests.engine.telegram_webhook import telegram_webhook
from tests.storage.csvdata import load_all


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_reading_over_the_telegram_webhook(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    async with telegram_webhook(engine) as webhook:
        # Chat 555 has verified nothing; 123456789 is Олена's (account 100000001).
        talk = [(555, "/reading"), (123456789, "/reading"), (123456789, "12 345")]
        for i, (chat, text) in enumerate(talk, start=1):
            await webhook.say(i, text, chat)
        await until(lambda: len(webhook.sent) == 3, what="three replies sent")
    by_chat = [(m["chat_id"], str(m["text"])) for m in webhook.sent]
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
