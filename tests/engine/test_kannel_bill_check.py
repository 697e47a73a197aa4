"""A bill check by SMS through a real Kannel (issue 14): Latin and Cyrillic keywords
come in as MO to the utility's sender id (170077 in seeds 002 and 004; the sample's
"Electrohold" here), the engine's listener answers with the amount in the subscriber's
language, and the reply leaves through Kannel from the sender id written to."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.storage.tables import bill_check
from tests.engine.conftest import FAST, settings
from tests.gateways import free_port, start_kannel
from tests.storage.csvdata import load_all
from tests.storage.test_bill_checks import IVAN, MARIA, snapshot

TOKEN = "kannel-bill-check-token-0123456789abcdef"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sms_bill_checks_in_latin_and_cyrillic(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    snapshot(engine, tmp_path, "EH", '300000000001,"123,45",BGN,2026-12-15\n', "2026-12-01 06:00")
    snapshot(engine, tmp_path, "ZOE", "100000002,850.5,UAH,2026-12-20\n", "2026-12-01")
    port = free_port()
    run = tmp_path / "kannel"
    run.mkdir()
    kannel_run = start_kannel(
        run, get_url=f"http://127.0.0.1:{port}/mo/{TOKEN}?from=%p&to=%P&text=%a&id=%I"
    )
    kannel = next(kannel_run)
    env = {
        "sms_gateway": "kannel",
        "sms_kannel_url": kannel.sendsms_url,
        "sms_kannel_username": kannel.username,
        "sms_kannel_password": kannel.password,
        "engine_listen_port": str(port),
        "engine_report_token": TOKEN,
    }
    delivery = DeliveryEngine(engine, settings(**env), listen=True, tuning=FAST, sync_seconds=0.2)
    await delivery.start()
    try:
        kannel.smsc.inject_mo(MARIA, "Electrohold", "smetka 300000000001")
        kannel.smsc.inject_mo(IVAN, "ZOE", "РАХУНОК 100000002")
        kannel.smsc.inject_mo("+359888000111", "Electrohold", "СМЕТКА 3000 0000 0001")
        replies = await asyncio.to_thread(kannel.wait_for_mt, 3)
    finally:
        await delivery.stop()
        for _ in kannel_run:
            pass
    by_receiver = {h.receiver.lstrip("+"): h for h in replies}
    maria = by_receiver[MARIA.lstrip("+")]
    assert maria.sender == "Electrohold"
    assert maria.text == "300000000001: дължите 123,45 лв. до 15.12.26 г. (към 01.12.26 г.)"
    assert by_receiver[IVAN.lstrip("+")].text == (
        "100000002: до сплати 850,50 ₴ до 20.12.26 (на 01.12.26)"
    )
    stranger = by_receiver["359888000111"].text
    assert "123,45" not in stranger and stranger.startswith("Сумата се съобщава само")
    with engine.connect() as conn:
        outcomes = sorted(conn.execute(select(bill_check.c.outcome)).scalars())
    assert outcomes == ["answered", "answered", "unverified"]
