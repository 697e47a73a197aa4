"""A meter reading by SMS through a real Kannel (seed 003): a Cyrillic word around
Latin digits from the account's verified phone is taken and confirmed, the same from
an unverified phone gets a polite answer and nothing is taken."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.storage.tables import meter_reading
from tests.engine.conftest import FAST, settings
from tests.gateways import KannelFactory, free_port, kannel_factory  # noqa: F401
from tests.storage.csvdata import load_all

TOKEN = "kannel-readings-test-token-0123456789abcdef"
IVAN = "+380501234567"
"""A contact of account 100000002 in the utility's own records (proven)."""
STRANGER = "+380501112233"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_reading_by_sms_through_kannel(
    engine: Engine,
    tmp_path: Path,
    kannel_factory: KannelFactory,  # noqa: F811
) -> None:
    load_all(engine, tmp_path)
    port = free_port()
    kannel = kannel_factory(
        get_url=f"http://127.0.0.1:{port}/mo/{TOKEN}?from=%p&to=%P&text=%a&id=%I"
    )
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
        kannel.smsc.inject_mo(IVAN, "ZOE", "Показники 100000002 12 345")
        kannel.smsc.inject_mo(STRANGER, "ZOE", "100000002 12345")
        replies = await asyncio.to_thread(kannel.wait_for_mt, 2)
    finally:
        await delivery.stop()
    by_receiver = {h.receiver.lstrip("+"): h.text for h in replies}
    assert by_receiver[STRANGER.lstrip("+")] == (
        "Цей номер не підтверджений для рахунку 100000002. Покази не прийнято."
    )
    with engine.connect() as conn:
        taken = conn.execute(select(meter_reading).order_by(meter_reading.c.chat)).all()
    assert [(r.chat, r.channel) for r in taken] == [(STRANGER, "sms"), (IVAN, "sms")]
    theirs, mine = taken
    assert (theirs.status, theirs.reason) == ("refused", "unverified")
    answer = by_receiver[IVAN.lstrip("+")]
    # The real clock decides whether the window is open: either answer is the right one.
    if mine.status == "accepted":
        assert mine.value_wh == 12_345_000
        assert answer == f"Показ 12345 за {mine.period[5:]}.{mine.period[:4]} прийнято. Дякуємо!"
    else:
        assert mine.reason == "outside_window" and answer.startswith("Покази приймаються з ")
