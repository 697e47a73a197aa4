"""Inbound SMS on both backends: sign-up and opt-out by keyword, replies
through the outbox in the subscriber's language, exactly-once handling,
and reply limits that never cost a subscription change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.storage import inbound
from dispatch_tui.storage.tables import contact, inbound_message, message, subscriber

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NEW_PHONE = "+38640999888"


def consent(engine: Engine, phone: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(contact.c.consent).where(
                    contact.c.channel == "sms", contact.c.address == phone
                )
            ).scalars()
        )


def replies(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(message.c.address, message.c.body, message.c.sender)
            .where(message.c.notice_id.is_(None))
            .order_by(message.c.id)
        )
        return [(r.address, r.body, r.sender) for r in rows]


def test_slovene_sign_up_and_leave(loaded: Engine) -> None:
    result = inbound.handle_inbound(
        loaded, sender=NEW_PHONE, receiver="041997400", text="6-100001 prijava", now=NOW
    )
    assert result.outcome == "opted in 6-100001"
    assert consent(loaded, NEW_PHONE) == ["opted_in"]
    [(to, body, sender)] = replies(loaded)
    assert (to, sender) == (NEW_PHONE, "041997400") and "Prijava za 6-100001" in body
    inbound.handle_inbound(
        loaded, sender=NEW_PHONE, receiver="041997400", text="6100001 ODJAVA", now=NOW
    )
    assert consent(loaded, NEW_PHONE) == ["opted_out"]
    assert "Odjava za 6-100001" in replies(loaded)[-1][1]


def test_bulgarian_client_number_and_stop(loaded: Engine) -> None:
    phone = "+359888000111"
    inbound.handle_inbound(loaded, sender=phone, receiver="170077", text="3000 0000 0001", now=NOW)
    assert consent(loaded, phone) == ["opted_in"]
    assert "Клиентски номер 300000000001 е регистриран" in replies(loaded)[-1][1]
    inbound.handle_inbound(loaded, sender=phone, receiver="170077", text="STOP", now=NOW)
    assert consent(loaded, phone) == ["opted_out"]
    assert "Отписани сте" in replies(loaded)[-1][1]
    inbound.handle_inbound(loaded, sender=phone, receiver="170077", text="start", now=NOW)
    assert consent(loaded, phone) == ["opted_in"]


def test_ukrainian_account_in_cyrillic_with_its_proof(loaded: Engine) -> None:
    phone = "380501112233"  # Kannel without the "+"
    text = "100000002 UA-777002 СТАРТ"
    inbound.handle_inbound(loaded, sender=phone, receiver="5555", text=text, now=NOW)
    assert consent(loaded, "+380501112233") == ["opted_in"]
    assert "Рахунок 100000002 підписано" in replies(loaded)[-1][1]


def test_a_ukrainian_sign_up_without_proof_says_what_is_needed(loaded: Engine) -> None:
    result = inbound.handle_inbound(
        loaded, sender="+380501112233", receiver="5555", text="100000002 СТАРТ", now=NOW
    )
    assert result.reply == "Надішліть: 100000002 <номер лічильника або 5 знаків EIC> СТАРТ"
    assert consent(loaded, "+380501112233") == []


def test_unknown_ids_and_text_get_short_help_once_a_day(loaded: Engine) -> None:
    unknown = inbound.handle_inbound(
        loaded, sender=NEW_PHONE, receiver="1", text="6-999999 PRIJAVA", now=NOW
    )
    assert unknown.outcome == "unknown 6-999999" and unknown.reply is not None
    first = inbound.handle_inbound(loaded, sender=NEW_PHONE, receiver="1", text="hello?", now=NOW)
    second = inbound.handle_inbound(loaded, sender=NEW_PHONE, receiver="1", text="help", now=NOW)
    assert first.reply is not None and "PRIJAVA" in first.reply
    assert second.reply is None
    assert consent(loaded, NEW_PHONE) == []
    with loaded.connect() as conn:
        outcomes = conn.execute(select(inbound_message.c.outcome)).scalars().all()
    assert outcomes[-1] == "not understood; reply withheld"


def test_a_retried_callback_is_handled_once(loaded: Engine) -> None:
    for _ in range(3):
        result = inbound.handle_inbound(
            loaded,
            sender=NEW_PHONE,
            receiver="1",
            text="6-100001 PRIJAVA",
            gateway_id="kannel-abc",
            now=NOW,
        )
    assert result.duplicate
    assert len(replies(loaded)) == 1


def test_bad_senders_change_nothing(loaded: Engine) -> None:
    with pytest.raises(inbound.InboundError, match="not a phone number"):
        inbound.handle_inbound(loaded, sender="evil; DROP", receiver="1", text="STOP", now=NOW)
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(inbound_message)).scalar() == 0


def test_a_hundred_texts_from_one_number_get_bounded_replies(loaded: Engine) -> None:
    limits = inbound.ReplyLimits()
    for i in range(100):
        text = "6-100001 PRIJAVA" if i % 2 == 0 else "6-100001 ODJAVA"
        inbound.handle_inbound(
            loaded, sender=NEW_PHONE, receiver="1", text=text, now=NOW + timedelta(seconds=i)
        )
    assert len(replies(loaded)) <= limits.per_number_hour
    # The last word wins, whatever happened to the replies.
    assert consent(loaded, NEW_PHONE) == ["opted_out"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_hundreds_of_texts_from_many_numbers_lose_no_sign_up(loaded: Engine) -> None:
    """600 sign-ups in 3.6 s, five times the replies allowed a minute: every one lands,
    replies stay within the global limit."""
    limits = inbound.ReplyLimits()
    count = 600
    for i in range(count):
        inbound.handle_inbound(
            loaded,
            sender=f"+35970{i:07d}",
            receiver="170077",
            text="300000000001",
            now=NOW + timedelta(milliseconds=6 * i),
        )
    minutes = (6 * count) // 60_000 + 1
    assert len(replies(loaded)) <= limits.global_per_minute * minutes
    with loaded.connect() as conn:
        signed_up = conn.execute(
            select(func.count())
            .select_from(contact.join(subscriber, subscriber.c.id == contact.c.subscriber_id))
            .where(subscriber.c.account == "300000000001", contact.c.address.like("+35970%"))
        ).scalar_one()
    assert signed_up == count


@pytest.mark.parametrize(
    "text", ["PRIJAVA 6-100001", "6-100001PRIJAVA", "prijava6100001", "6 100001 Prijava"]
)
def test_keyword_before_after_or_glued_to_the_id_signs_up(loaded: Engine, text: str) -> None:
    result = inbound.handle_inbound(loaded, sender=NEW_PHONE, receiver="1", text=text, now=NOW)
    assert result.outcome == "opted in 6-100001"
    assert consent(loaded, NEW_PHONE) == ["opted_in"]


@pytest.mark.parametrize(
    ("phone", "text", "expected"),
    [
        (NEW_PHONE, "6-100001 ODJAVA", "Ta telefon ni bil prijavljen za 6-100001"),
        ("+380501112299", "ВІДПИСКА 100000002", "Цей телефон не був підписаний на 100000002"),
        ("+359888000999", "СТОП300000000001", "Този телефон не е регистриран за 300000000001"),
    ],
)
def test_opt_out_from_a_phone_that_never_signed_up_says_so(
    loaded: Engine, phone: str, text: str, expected: str
) -> None:
    result = inbound.handle_inbound(loaded, sender=phone, receiver="1", text=text, now=NOW)
    assert result.reply is not None and result.reply.startswith(expected)
    assert "no sign-up" in result.outcome
    assert consent(loaded, phone) == []


def test_opt_out_after_a_sign_up_is_still_confirmed(loaded: Engine) -> None:
    inbound.handle_inbound(loaded, sender=NEW_PHONE, receiver="1", text="6-100001 PRIJAVA", now=NOW)
    result = inbound.handle_inbound(
        loaded, sender=NEW_PHONE, receiver="1", text="ODJAVA 6-100001", now=NOW
    )
    assert result.reply is not None and result.reply.startswith("Odjava za 6-100001")


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        (NEW_PHONE, "Pošljite npr. 6-123456 PRIJAVA"),
        ("380501112299", "Надішліть: 123456789 <номер лічильника> СТАРТ"),
        ("+359888000999", "Изпратете 12-цифрения клиентски номер"),
        ("+4915112345678", "Send your number"),
    ],
)
def test_help_to_an_unknown_number_is_in_its_countrys_language(
    loaded: Engine, phone: str, expected: str
) -> None:
    result = inbound.handle_inbound(loaded, sender=phone, receiver="1", text="hello?", now=NOW)
    assert result.reply is not None and result.reply.startswith(expected)
