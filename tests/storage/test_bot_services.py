"""Bot /bill and /services on both backends (issue 14): amounts only in a chat that
proved the account, each check recorded; services switched per chat with time and
source; /stop ends them all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.tables import bill_check, contact, contact_service
from tests.storage.test_bill_checks import snapshot

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def talk(engine: Engine, chat: str, *texts: str, start: int = 1) -> list[list[str]]:
    return [
        handle_chat_message(engine, "telegram", chat, text, update_id=start + i, now=NOW)
        for i, text in enumerate(texts)
    ]


def outcomes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = select(bill_check.c.channel, bill_check.c.outcome).order_by(bill_check.c.id)
        return [f"{r.channel}:{r.outcome}" for r in conn.execute(query)]


def services(engine: Engine, chat: str) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                contact_service.c.service,
                contact_service.c.consent,
                contact_service.c.consent_source,
            )
            .join(contact, contact.c.id == contact_service.c.contact_id)
            .where(contact.c.channel == "telegram", contact.c.address == chat)
        )
        return {r.service: (r.consent, r.consent_source) for r in rows}


@pytest.fixture
def billed(loaded: Engine, tmp_path: Path) -> Engine:
    snapshot(loaded, tmp_path, "ZOE", "100000002,850.5,UAH,2026-12-20\n", "2026-12-01")
    return loaded


def test_a_verified_chat_gets_its_bill(billed: Engine) -> None:
    talk(billed, "555", "/add", "100000002", "UA-777002")
    [[answer]] = talk(billed, "555", "/bill", start=10)
    assert answer == "100000002: до сплати 850,50 ₴ до 20.12.26 (на 01.12.26)"
    [[english]] = talk(billed, "555", "/lang en", "/bill", start=20)[1:]
    assert english == "Account 100000002: 850.50 UAH due by 20/12/2026 (as of 01/12/2026)."
    assert outcomes(billed) == ["telegram:answered", "telegram:answered"]


def test_an_unverified_chat_gets_no_amount(billed: Engine) -> None:
    said = talk(billed, "777", "/add", "100000002", "wrong", "/bill")
    assert said[-1] == ["Суму показуємо лише для підтвердженого рахунку. Додайте його: /add."]
    assert not any("850" in text for texts in said for text in texts)
    assert outcomes(billed) == ["telegram:unverified"]


def test_a_chat_without_a_snapshot_hears_so(loaded: Engine) -> None:
    talk(loaded, "555", "/add", "100000002", "UA-777002")
    assert talk(loaded, "555", "/bill", start=10) == [["Для 100000002 ще немає даних про рахунок."]]
    assert outcomes(loaded) == ["telegram:no_balance"]


def test_services_are_listed_and_switched_then_stop_ends_them(loaded: Engine) -> None:
    assert talk(loaded, "555", "/services") == [["Рахунків ще немає. Додайте: /add."]]
    talk(loaded, "555", "/lang en", "/add", "100000002", "UA-777002", start=2)
    [[listed]] = talk(loaded, "555", "/services", start=10)
    assert "1. bill information: off\n2. payment reminders: off" in listed
    assert talk(loaded, "555", "/services 1", "/services 2", "/services 2", start=11) == [
        ["bill information: on."],
        ["payment reminders: on."],
        ["payment reminders: off."],
    ]
    assert services(loaded, "555") == {
        "bill_info": ("opted_in", "telegram chat 555: /services"),
        "payment_reminder": ("opted_out", "telegram chat 555: /services"),
    }
    [[listed]] = talk(loaded, "555", "/services", start=20)
    assert "1. bill information: on\n2. payment reminders: off" in listed
    talk(loaded, "555", "/stop", start=30)
    assert {state for state, _source in services(loaded, "555").values()} == {"opted_out"}
    assert services(loaded, "555")["bill_info"][1] == "telegram chat 555: /stop"
