"""The README's Kannel section, followed: its kannel.conf fragment (the file the
package ships) in a real bearerbox and smsbox carries a 3-part UCS-2 notice to
the SMSC whole, and a Cyrillic inbound SMS to the listener as UTF-8 and a
two-part one as one text."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from dispatch_tui.domain.sms import analyse
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.kannel import config_fragment
from dispatch_tui.storage.tables import contact, inbound_message, message
from tests.engine.conftest import FAST, settings, until
from tests.engine.factory import make_outbox, message_states
from tests.gateways import free_port, readme_config, running_kannel
from tests.storage.csvdata import load_all

README = Path(__file__).resolve().parents[2] / "README.md"
TOKEN = "kannel-readme-test-token-0123456789abcdef"
PASSWORD = "sendsms-secret"
NOTICE = (
    "Načrtovan izklop električne energije: Ljubljana, Šišenska cesta 12, 3.12. 8:00–12:00. "
    "Планове відключення: Ужгород, вул. Минайська 14, 03.12 08:00–12:00. "
    "Informacije: 080 21 00, www.elektro-test.si"
)


def test_the_readme_quotes_the_shipped_fragment() -> None:
    section = README.read_text().split("\n## Kannel\n", 1)[1].split("\n## ", 1)[0]
    quoted = re.search(r"```conf\n(.*?)```", section, re.DOTALL)
    assert quoted is not None, "the README's Kannel section has no ```conf block"
    assert quoted.group(1) == config_fragment()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_long_notice_and_a_cyrillic_sign_up_through_the_readme_config(
    engine: Engine, tmp_path: Path
) -> None:
    assert analyse(NOTICE).encoding == "UCS-2" and analyse(NOTICE).segments == 3
    load_all(engine, tmp_path)
    notice_id = make_outbox(engine, 1)
    with engine.begin() as conn:
        conn.execute(update(message).where(message.c.notice_id == notice_id).values(body=NOTICE))
    port = free_port()
    run = tmp_path / "kannel"
    run.mkdir()
    config = readme_config(listen_port=port, token=TOKEN, password=PASSWORD)
    with running_kannel(run, config=config, username="dispatch", password=PASSWORD) as kannel:
        env = {
            "sms_gateway": "kannel",
            "sms_kannel_url": kannel.sendsms_url,
            "sms_kannel_username": "dispatch",
            "sms_kannel_password": PASSWORD,
            "engine_listen_port": str(port),
            "engine_report_token": TOKEN,
        }
        delivery = DeliveryEngine(
            engine, settings(**env), listen=True, tuning=FAST, sync_seconds=0.2
        )
        await delivery.start()
        try:
            [handset] = await asyncio.to_thread(kannel.wait_for_mt, 1)
            assert (handset.text, handset.parts, handset.kind) == (NOTICE, 3, "ucs-2")
            await until(
                lambda: message_states(engine, notice_id) == {"delivered": 1},
                what="the delivery report, through the dlr-url alone",
            )
            kannel.inject_mo("+380501112233", "ZOE", "100000002 UA-777002 старт")
            [reply] = await asyncio.to_thread(kannel.wait_for_mt, 1)
            # In two parts: sms-combine-concatenated-mo hands the engine one text.
            kannel.smsc.inject_concatenated_mo(
                "+38640999888", "ElektroGor", ["6-100001 ", "prijava"]
            )
            [joined] = await asyncio.to_thread(kannel.wait_for_mt, 1)
        finally:
            await delivery.stop()
    assert "Рахунок 100000002 підписано" in reply.text
    assert "Prijava za 6-100001" in joined.text
    with engine.connect() as conn:
        texts = list(conn.execute(select(inbound_message.c.text)).scalars())
        consents = dict(
            conn.execute(
                select(contact.c.address, contact.c.consent).where(
                    contact.c.address.in_(["+380501112233", "+38640999888"])
                )
            ).all()
        )
    assert sorted(texts) == ["100000002 UA-777002 старт", "6-100001 prijava"]
    assert consents == {"+380501112233": "opted_in", "+38640999888": "opted_in"}
