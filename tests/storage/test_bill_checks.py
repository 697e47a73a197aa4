"""Bill checks by SMS on both backends (issue 14): amounts only to a phone proven for
the account, in the subscriber's language, through the outbox with the inbound reply
limits; every check recorded with its outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.storage import inbound
from dispatch_tui.storage.importers import IMPORTERS
from dispatch_tui.storage.tables import (
    bill_check,
    contact,
    contact_service,
    inbound_message,
    message,
)
from tests.storage.csvdata import write

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
MARIA = "+359888123456"
"""On Electrohold's records for client number 300000000001 (the sample subscribers)."""
ANA = "+38641123456"
IVAN = "+380501234567"


def snapshot(
    engine: Engine, tmp_path: Path, utility: str, rows: str, as_of: str, *, actor: str = "t"
) -> None:
    path = write(
        tmp_path, f"{utility}-{as_of[:10]}.csv", "account,amount,currency,due_date\n" + rows
    )
    IMPORTERS["balances"](engine, path, actor=actor, utility_code=utility, as_of=as_of, now=NOW)


@pytest.fixture
def billed(loaded: Engine, tmp_path: Path) -> Engine:
    snapshot(loaded, tmp_path, "EH", "300000000001,99.00,BGN,2026-11-20\n", "2026-11-01")
    snapshot(loaded, tmp_path, "EH", '300000000001,"123,45",BGN,2026-12-15\n', "2026-12-01 06:00")
    snapshot(loaded, tmp_path, "EG", "100234,0,EUR,2026-12-15\n", "2026-12-01")
    snapshot(loaded, tmp_path, "ZOE", "100000002,850.5,UAH,2026-12-20\n", "2026-12-01")
    return loaded


def text(
    engine: Engine, phone: str, body: str, receiver: str = "170077", **kw: object
) -> str | None:
    result = inbound.handle_inbound(
        engine,
        sender=phone,
        receiver=receiver,
        text=body,
        now=kw.pop("now", NOW),
        **kw,  # type: ignore[arg-type]
    )
    return result.reply


def checks(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(bill_check.c.channel, bill_check.c.outcome).order_by(bill_check.c.id)
        )
        return [(r.channel, r.outcome) for r in rows]


@pytest.mark.parametrize(
    "body", ["smetka 300000000001", "СМЕТКА 3000 0000 0001", "300000000001 Сметка", "СМЕТКА"]
)
def test_a_proven_phone_hears_its_balance_in_bulgarian(billed: Engine, body: str) -> None:
    reply = text(billed, MARIA, body)
    assert reply == "300000000001: дължите 123,45 лв. до 15.12.26 г. (към 01.12.26 г.)"
    assert checks(billed) == [("sms", "answered")]
    with billed.connect() as conn:
        queued = conn.execute(select(message.c.address, message.c.body, message.c.sender)).all()
        outcome = conn.execute(select(inbound_message.c.outcome)).scalar_one()
    assert [tuple(q) for q in queued] == [(MARIA, reply, "170077")]
    assert outcome.endswith(": answered")


def test_slovene_and_ukrainian_answers(billed: Engine) -> None:
    assert text(billed, ANA, "RAČUN 100234") == "100234: nič za plačilo (0,00 €, stanje 1. 12. 26)"
    assert text(billed, IVAN, "рахунок 100000002") == (
        "100000002: до сплати 850,50 ₴ до 20.12.26 (на 01.12.26)"
    )
    assert checks(billed) == [("sms", "answered")] * 2


def test_an_unproven_phone_gets_no_amount(billed: Engine) -> None:
    stranger = "+359888000111"
    text(billed, stranger, "300000000001")  # a sign-up by number alone proves nothing
    reply = text(billed, stranger, "SMETKA 300000000001")
    assert reply is not None and "123,45" not in reply
    assert reply.startswith("Сумата се съобщава само на телефон") and "0700 10 010" in reply
    assert checks(billed) == [("sms", "unverified")]


def test_an_unknown_account_reads_like_an_unverified_one(billed: Engine) -> None:
    stranger = "+359888000222"
    unknown = text(billed, stranger, "SMETKA 300000000999")
    known = text(billed, stranger, "SMETKA 300000000001", now=NOW + timedelta(minutes=1))
    assert unknown is not None and known is not None
    assert unknown.replace("300000000999", "N") == known.replace("300000000001", "N")
    assert checks(billed) == [("sms", "unknown_account"), ("sms", "unverified")]


def test_no_snapshot_yet_and_a_keyword_alone_from_a_stranger(loaded: Engine) -> None:
    assert text(loaded, MARIA, "smetka 300000000001") == (
        "Още няма данни за сметката на 300000000001."
    )
    assert text(loaded, "+359888000333", "СМЕТКА", now=NOW + timedelta(minutes=1)) == (
        "Изпратете СМЕТКА и клиентския номер, напр. СМЕТКА 300012345678."
    )
    assert checks(loaded) == [("sms", "no_balance"), ("sms", "unverified")]


def test_an_opted_out_phone_still_gets_what_it_asks_for(billed: Engine) -> None:
    """STOP ends messages the utility starts; a check is the customer's own request."""
    text(billed, MARIA, "STOP")
    reply = text(billed, MARIA, "SMETKA 300000000001", now=NOW + timedelta(minutes=1))
    assert reply is not None and "123,45 лв." in reply


def test_checks_share_the_reply_limits_and_are_all_recorded(billed: Engine) -> None:
    limits = inbound.ReplyLimits(per_number_hour=2)
    replies = [
        text(billed, MARIA, "SMETKA", now=NOW + timedelta(seconds=i), limits=limits)
        for i in range(4)
    ]
    assert [r is not None for r in replies] == [True, True, False, False]
    assert checks(billed) == [("sms", "answered")] * 4


def services_of(engine: Engine, phone: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(contact_service.c.service, contact_service.c.consent)
            .join(contact, contact.c.id == contact_service.c.contact_id)
            .where(contact.c.address == phone)
        )
        return {r.service: r.consent for r in rows}


def test_registering_for_bill_information_by_sms(loaded: Engine) -> None:
    assert text(loaded, MARIA, "SMETKA START") == (
        "Ще получавате информация за сметката и напомняния за плащане."
    )
    assert services_of(loaded, MARIA) == {"bill_info": "opted_in", "payment_reminder": "opted_in"}
    later = NOW + timedelta(minutes=1)
    assert text(loaded, MARIA, "сметка стоп", now=later) == (
        "Информацията за сметката и напомнянията са спрени."
    )
    assert services_of(loaded, MARIA) == dict.fromkeys(
        ("bill_info", "payment_reminder"), "opted_out"
    )
    # A phone on no account's records (a sign-up by number alone proves nothing).
    stranger = "+359888000444"
    text(loaded, stranger, "300000000001")
    assert text(loaded, stranger, "BILL START", now=later) == (
        "Телефонът не е записан към клиентски номер. Обадете се: 0700 10 010."
    )
    assert services_of(loaded, stranger) == {}
    assert checks(loaded) == []
