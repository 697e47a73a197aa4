"""Inbound SMS replies: `to=` chose the sender id of our reply and `from=112` got one. Now a
reply goes only from a sender id a utility configured and only to a mobile number; anything
else is stored without a reply, and a sign-up from a number we never text is not taken (it
would make 112 a contact that every later notice goes to)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.domain.reply_policy import SenderId, decide, mobile_reply_address
from dispatch_tui.storage.tables import contact, inbound_message, message
from tests.security.conftest import TOKEN, get, listening, raw_http, settings
from tests.storage.csvdata import load_all

SENDERS = [
    SenderId("ElektroGor", "SI"),
    SenderId("041997400", "SI"),
    SenderId("1919", "BG"),
]
MOBILE = "+38640999888"


@pytest.mark.parametrize(
    "sender",
    ["112", "+112", "911", "1234", "19190", "+38642123456", "+38690123456", "0800123", "", "x"],
)
def test_only_mobile_numbers_get_replies(sender: str) -> None:
    assert mobile_reply_address(sender) is None
    assert decide(sender, "ElektroGor", "STOP", SENDERS).no_reply is not None


@pytest.mark.parametrize("sender", [MOBILE, "38640999888", "+380501112233", "+359888123456"])
def test_mobile_numbers_do(sender: str) -> None:
    assert mobile_reply_address(sender) == "+" + sender.lstrip("+")
    assert decide(sender, "ElektroGor", "STOP", SENDERS).no_reply is None


@pytest.mark.parametrize(
    ("receiver", "ours"),
    [
        ("ElektroGor", True),
        ("elektrogor", True),
        ("041997400", True),
        ("+38641997400", True),
        ("38641997400", True),
        ("1919", True),
        ("", False),
        ("ElektroGo", False),
        ("FAKEBANK", False),
        ("+38641997401", False),
        ("19191", False),
        ("+1919", False),
    ],
)
def test_replies_only_from_a_configured_sender(receiver: str, ours: bool) -> None:
    decision = decide(MOBILE, receiver, "6-100001 PRIJAVA", SENDERS)
    assert decision.handle
    assert (decision.no_reply is None) is ours


def test_a_sign_up_from_a_number_we_never_text_is_not_taken() -> None:
    assert not decide("112", "ElektroGor", "6-100001 PRIJAVA", SENDERS).handle
    assert decide("112", "ElektroGor", "6-100001 ODJAVA", SENDERS).handle  # opt-out wins
    assert decide("112", "ElektroGor", "hello", SENDERS).handle


def rows(db: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with db.connect() as conn:
        inbound = conn.execute(
            select(inbound_message.c.sender, inbound_message.c.receiver, inbound_message.c.replied)
            .where(inbound_message.c.channel == "sms")
            .order_by(inbound_message.c.id)
        ).all()
        replies = conn.execute(
            select(message.c.address, message.c.sender).where(message.c.channel == "sms")
        ).all()
    return [tuple(r) for r in inbound], [tuple(r) for r in replies]


def sms_contacts(db: Engine) -> set[str]:
    with db.connect() as conn:
        return set(
            conn.execute(select(contact.c.address).where(contact.c.channel == "sms")).scalars()
        )


async def test_replies_go_only_from_our_sender_to_mobiles(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    before = sms_contacts(engine)
    async with listening(engine, settings()) as delivery:
        assert delivery.listener is not None
        port = delivery.listener.port

        async def mo(sender: str, to: str, text: str, gateway_id: str) -> int:
            path = f"/mo/{TOKEN}?from={sender}&to={to}&text={text}&id={gateway_id}"
            return (await raw_http(port, get(path.replace("+", "%2B").encode())))[0]

        assert await mo("38640999888", "ElektroGor", "6-100001%20PRIJAVA", "a") == 200
        assert await mo("38640999777", "FAKEBANK", "6-100001%20PRIJAVA", "b") == 200
        assert await mo("112", "ElektroGor", "6-100001%20PRIJAVA", "c") == 200
        assert await mo("1234", "ElektroGor", "STOP", "d") == 200
        assert await mo("38642123456", "ElektroGor", "STOP", "e") == 200
    inbound, replies = rows(engine)
    assert inbound == [
        ("+38640999888", "ElektroGor", True),
        ("+38640999777", "FAKEBANK", False),
        ("1234", "ElektroGor", False),
        ("+38642123456", "ElektroGor", False),
    ]
    assert replies == [("+38640999888", "ElektroGor")]
    assert sms_contacts(engine) - before == {"+38640999888", "+38640999777"}
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(message)).scalar_one()
    assert count == 1
