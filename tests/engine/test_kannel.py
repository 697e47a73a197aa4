"""End to end through a real Kannel: Slovene and Cyrillic notices reach the
fake SMSC intact, and the delivery report flows back through the engine's
listener and updates the message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.base import OutgoingMessage
from dispatch_tui.senders.kannel import KannelSender
from dispatch_tui.storage.tables import delivery_event, message
from tests.engine.conftest import FAST, settings, until
from tests.engine.factory import make_outbox, message_states
from tests.gateways import Kannel, start_kannel

TEXTS = [
    "Načrtovan izklop: Ljubljana, Šišenska cesta 12, 3.12. 8:00–12:00",
    "Планове відключення: Ужгород, вул. Минайська 14, 03.12 08:00–12:00",
    "Планирано изключване: София, ул. Васил Левски 3",
]


@pytest.fixture
def kannel(tmp_path: Path) -> Iterator[Kannel]:
    yield from start_kannel(tmp_path)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_notices_arrive_intact_and_reports_come_back(engine: Engine, kannel: Kannel) -> None:
    notice_id = make_outbox(engine, 3)
    with engine.begin() as conn:
        for i, text in enumerate(TEXTS, start=1):
            conn.execute(update(message).where(message.c.id == i).values(body=text))
    env = {
        "sms_gateway": "kannel",
        "sms_kannel_url": kannel.sendsms_url,
        "sms_kannel_username": kannel.username,
        "sms_kannel_password": kannel.password,
        "engine_listen_port": "0",
    }
    delivery = DeliveryEngine(engine, settings(**env), listen=True, tuning=FAST, sync_seconds=0.2)
    await delivery.start()
    try:
        handsets = await asyncio.to_thread(kannel.wait_for_mt, 3)
        assert sorted(h.text for h in handsets) == sorted(TEXTS)
        assert {h.sender for h in handsets} == {"ELEKTRO"}
        await until(
            lambda: message_states(engine, notice_id) == {"delivered": 3},
            what="delivery reports applied",
        )
    finally:
        await delivery.stop()
    with engine.connect() as conn:
        details = conn.execute(
            select(delivery_event.c.detail).where(delivery_event.c.status == "delivered")
        ).scalars()
        assert all(d.startswith("report kannel 1") for d in details)


async def test_gateway_answers_are_classified(kannel: Kannel, tmp_path: Path) -> None:
    def sender(password: str = "testpw") -> KannelSender:
        return KannelSender(
            url=kannel.sendsms_url, username="tester", password=password, dlr_url=None
        )

    good = sender()
    ok = await good.send(OutgoingMessage(1, "sms", "+38640111222", "Test", sender="ELEKTRO"))
    bad_number = await good.send(OutgoingMessage(2, "sms", "abc", "Test", sender="ELEKTRO"))
    await good.close()
    wrong = sender("nope")
    refused_credentials = await wrong.send(
        OutgoingMessage(3, "sms", "+38640111222", "Test", sender="ELEKTRO")
    )
    await wrong.close()
    assert ok.status == "sent"
    assert bad_number.status == "failed" and "400" in bad_number.reason
    assert refused_credentials.status == "retry"
    assert "credentials" in refused_credentials.reason
    assert kannel.wait_for_mt(1)[0].text == "Test"
