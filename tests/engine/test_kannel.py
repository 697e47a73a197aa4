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
from dispatch_tui.storage.tables import contact, delivery_event, inbound_message, message
from tests.engine.conftest import FAST, settings, until
from tests.engine.factory import make_outbox, message_states
from tests.gateways import Kannel, free_port, start_kannel
from tests.storage.csvdata import load_all

TOKEN = "kannel-listener-test-token-0123456789abcdef"
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
        "engine_report_token": TOKEN,
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


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_inbound_sms_through_kannel_changes_consent_and_gets_a_reply(
    engine: Engine, tmp_path: Path
) -> None:
    load_all(engine, tmp_path)
    port = free_port()
    token = TOKEN
    get_url = f"http://127.0.0.1:{port}/mo/{token}?from=%p&to=%P&text=%a&id=%I"
    run = tmp_path / "kannel"
    run.mkdir()
    kannel_run = start_kannel(run, get_url=get_url)
    kannel = next(kannel_run)
    env = {
        "sms_gateway": "kannel",
        "sms_kannel_url": kannel.sendsms_url,
        "sms_kannel_username": kannel.username,
        "sms_kannel_password": kannel.password,
        "engine_listen_port": str(port),
        "engine_report_token": token,
    }
    delivery = DeliveryEngine(engine, settings(**env), listen=True, tuning=FAST, sync_seconds=0.2)
    await delivery.start()
    try:
        # Written to each utility's sender id: replies go only from those.
        kannel.smsc.inject_mo("+38640999888", "ElektroGor", "6-100001 prijava")
        kannel.smsc.inject_mo("+380501112233", "ZOE", "100000002 UA-777002 старт")
        replies = await asyncio.to_thread(kannel.wait_for_mt, 2)
    finally:
        await delivery.stop()
        for _ in kannel_run:
            pass
    by_receiver = {h.receiver.lstrip("+"): h for h in replies}
    slovene = by_receiver["38640999888"]
    assert slovene.sender == "ElektroGor" and "Prijava za 6-100001" in slovene.text
    assert "Рахунок 100000002 підписано" in by_receiver["380501112233"].text
    with engine.connect() as conn:
        consents = dict(
            conn.execute(
                select(contact.c.address, contact.c.consent).where(
                    contact.c.address.in_(["+38640999888", "+380501112233"])
                )
            ).all()
        )
        texts = set(conn.execute(select(inbound_message.c.text)).scalars())
    assert consents == {"+38640999888": "opted_in", "+380501112233": "opted_in"}
    assert texts == {"6-100001 prijava", "100000002 UA-777002 старт"}
