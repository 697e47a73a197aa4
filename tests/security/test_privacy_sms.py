"""Signing up strangers' accounts by SMS, on SQLite and PostgreSQL.

Before: `100000002 СТАРТ` from any phone signed it up (the next notice told
that phone the account's street addresses; the bot demands a proof for the
same thing); `6-100001 PRIJAVA` attached the phone to the whole customer
account, so it heard of the customer's other metering points; one phone
signed up to 1,771 accounts with 2,000 texts. Each is refused here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from dispatch_tui.config import load_settings
from dispatch_tui.domain.bot_dialogue import MAX_PROOF_FAILURES
from dispatch_tui.storage import fanout
from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.importers import import_file
from dispatch_tui.storage.inbound import handle_inbound
from dispatch_tui.storage.tables import (
    contact,
    contact_scope,
    message,
    metering_point,
    notice,
    subscriber,
    utility,
)
from tests.factories import approved_outage
from tests.storage.csvdata import SUBSCRIBERS, load_all, write

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
STRANGER = "+380501112233"
SI_STRANGER = "+38640999888"
HELPLINE = "0 800 300 015"


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    load_all(engine, tmp_path)
    return engine


def text(engine: Engine, phone: str, body: str, at: datetime = NOW, **kw: int) -> str | None:
    return handle_inbound(engine, sender=phone, receiver="1", text=body, now=at, **kw).reply


def contacts(engine: Engine, phone: str) -> list[tuple[str, str, bool]]:
    """(account, consent, proven) of every SMS contact of `phone`."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(subscriber.c.account, contact.c.consent, contact.c.proven)
            .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
            .where(contact.c.channel == "sms", contact.c.address == phone)
            .order_by(subscriber.c.account)
        )
        return [(r.account, r.consent, bool(r.proven)) for r in rows]


def test_an_account_sign_up_without_proof_is_refused(loaded: Engine) -> None:
    reply = text(loaded, STRANGER, "100000002 СТАРТ")
    assert reply is not None and "<номер лічильника" in reply and "100000002" in reply
    assert contacts(loaded, STRANGER) == []
    # The owner's own phone, from the utility's records, may still come back without one.
    assert text(loaded, "+380501234567", "100000002 СТАРТ", at=NOW + timedelta(hours=1))
    assert contacts(loaded, "+380501234567") == [("100000002", "opted_in", True)]


def test_an_account_sign_up_with_the_proof_is_proven(loaded: Engine) -> None:
    text(loaded, STRANGER, "100000002 UA-777002 СТАРТ")
    assert contacts(loaded, STRANGER) == [("100000002", "opted_in", True)]


def test_wrong_sms_proofs_count_with_the_bots_and_lock_the_account(loaded: Engine) -> None:
    for n in range(3):
        reply = text(loaded, STRANGER, f"100000002 UA-10000{n} СТАРТ", at=NOW + timedelta(hours=n))
        assert reply is not None and "не збігається" in reply
    for n in range(MAX_PROOF_FAILURES - 3):
        handle_chat_message(loaded, "telegram", f"66{n}", "/add", update_id=2 * n + 1, now=NOW)
        handle_chat_message(loaded, "telegram", f"66{n}", "100000002", update_id=2 * n + 2, now=NOW)
        handle_chat_message(loaded, "telegram", f"66{n}", "nope", update_id=2 * n + 3, now=NOW)
    reply = text(loaded, STRANGER, "100000002 UA-777002 СТАРТ", at=NOW + timedelta(hours=5))
    assert reply is not None and HELPLINE in reply
    assert contacts(loaded, STRANGER) == []


def test_one_phone_guessing_across_accounts_is_stopped(loaded: Engine) -> None:
    for n in range(MAX_PROOF_FAILURES):
        text(loaded, STRANGER, f"90000000{n} 12345 СТАРТ", at=NOW + timedelta(hours=n))
    reply = text(loaded, STRANGER, "100000002 UA-777002 СТАРТ", at=NOW + timedelta(hours=6))
    assert reply is not None and HELPLINE in reply
    assert contacts(loaded, STRANGER) == []


def test_a_metering_point_sign_up_reaches_that_place_only(loaded: Engine) -> None:
    text(loaded, SI_STRANGER, "6-100001 PRIJAVA")
    assert contacts(loaded, SI_STRANGER) == [("100234", "opted_in", False)]
    with loaded.connect() as conn:
        scope = conn.execute(
            select(metering_point.c.mp_id)
            .join(contact_scope, contact_scope.c.mp_id == metering_point.c.id)
            .join(contact, contact.c.id == contact_scope.c.contact_id)
            .where(contact.c.address == SI_STRANGER)
        ).all()
    assert [r.mp_id for r in scope] == ["6-100001"]  # not 6-100002, Ana's other place
    # Leaving the one place leaves altogether; signing up again names only the new place.
    text(loaded, SI_STRANGER, "6-100001 ODJAVA", at=NOW + timedelta(hours=1))
    assert contacts(loaded, SI_STRANGER) == [("100234", "opted_out", False)]


def test_the_utilitys_records_make_a_sign_up_the_accounts(loaded: Engine, tmp_path: Path) -> None:
    """A phone the utility's own file lists for the account is proven and hears of
    every place of it; the SMS sign-up alone never made it so."""
    text(loaded, SI_STRANGER, "6-100001 PRIJAVA")
    assert contacts(loaded, SI_STRANGER) == [("100234", "opted_in", False)]
    listed = SUBSCRIBERS.replace("041 123 456", "040 999 888")
    import_file(loaded, "subscribers", write(tmp_path, "again.csv", listed), actor="tester")
    assert contacts(loaded, SI_STRANGER) == [("100234", "opted_in", True)]
    with loaded.connect() as conn:
        assert conn.execute(select(contact_scope.c.contact_id)).all() == []


def _bulgarian_accounts(engine: Engine, count: int) -> list[str]:
    with engine.begin() as conn:
        uid = conn.execute(select(utility.c.id).where(utility.c.country == "BG")).scalar_one()
        numbers = [f"3000000{n:05d}" for n in range(100, 100 + count)]
        conn.execute(
            insert(subscriber),
            [
                {"utility_id": uid, "account": a, "language": "bg", "created_at": NOW}
                for a in numbers
            ],
        )
    return numbers


def test_two_hundred_texts_hold_at_most_five_sign_ups(loaded: Engine) -> None:
    accounts = _bulgarian_accounts(loaded, 40)
    phone = "+359888000111"
    for i in range(200):
        text(loaded, phone, accounts[i % len(accounts)], at=NOW + timedelta(seconds=i))
    held = contacts(loaded, phone)
    assert len(held) == 5 and all(c == "opted_in" and not p for _a, c, p in held)
    # Leaving and coming back does not stack them up: START would bring back ten.
    later = NOW + timedelta(days=1)
    text(loaded, phone, "STOP", at=later)
    for n, account in enumerate(accounts[10:15], start=1):
        text(loaded, phone, account, at=later + timedelta(seconds=n))
    assert sum(c == "opted_in" for _a, c, _p in contacts(loaded, phone)) == 5
    text(loaded, phone, "START", at=later + timedelta(minutes=1))
    assert sum(c == "opted_in" for _a, c, _p in contacts(loaded, phone)) == 5


def test_the_sixth_sign_up_gets_a_reply_saying_so(loaded: Engine) -> None:
    accounts = _bulgarian_accounts(loaded, 6)
    phone = "+359888000222"
    replies = [
        text(loaded, phone, account, at=NOW + timedelta(hours=n))
        for n, account in enumerate(accounts)
    ]
    assert all(r and "е регистриран" in r for r in replies[:5])
    assert replies[5] == "Този телефон вече има 5 регистрации, повече не може."
    # Signing up again for one it holds is no sixth.
    again = handle_inbound(
        loaded, sender=phone, receiver="1", text=accounts[0], now=NOW + timedelta(days=1)
    )
    assert again.reply is not None and "е регистриран" in again.reply
    assert len(contacts(loaded, phone)) == 5


def test_the_limit_is_a_setting(loaded: Engine) -> None:
    settings = load_settings(env={}, user_file=Path("/nonexistent/config.toml"))
    assert settings.inbound_signups_per_phone == 5
    bigger = load_settings(
        env={"DISPATCH_TUI_INBOUND_SIGNUPS_PER_PHONE": "2"},
        user_file=Path("/nonexistent/config.toml"),
    )
    accounts = _bulgarian_accounts(loaded, 3)
    phone = "+359888000333"
    for n, account in enumerate(accounts):
        text(
            loaded,
            phone,
            account,
            at=NOW + timedelta(hours=n),
            signups_per_phone=bigger.inbound_signups_per_phone,
        )
    assert len(contacts(loaded, phone)) == 2


def test_a_notice_to_an_unproven_sign_up_names_places_not_streets(
    engine: Engine, tmp_path: Path
) -> None:
    outage_id = approved_outage(engine, tmp_path)
    text(engine, SI_STRANGER, "6-100001 PRIJAVA", at=datetime.now(UTC))
    with engine.connect() as conn:
        first = conn.execute(
            select(notice.c.id, notice.c.due_at)
            .where(notice.c.outage_id == outage_id)
            .order_by(notice.c.due_at, notice.c.id)
        ).first()
    assert first is not None
    fanout.fan_out(engine, first.id, owner="t", now=first.due_at + timedelta(seconds=1))
    with engine.connect() as conn:
        bodies = dict(
            conn.execute(
                select(message.c.address, message.c.body).where(message.c.notice_id == first.id)
            ).all()
        )
    assert list(bodies).count(SI_STRANGER) == 1
    stranger = bodies[SI_STRANGER]
    assert "6-100001" in stranger and "Kranj" in stranger
    assert "Prešernova" not in stranger and "6-100002" not in stranger
    assert "Prešernova" in bodies["+38641123456"]  # Ana's own phone still gets her streets
