"""Guessing the bot's proof, on SQLite and PostgreSQL: at most 5 wrong proofs
per account in a day across all chats, and per chat; then the account is
locked for self-service, the person is told the utility's number, and only
an operator (role-checked, audited) can lift the lock.

Before: three wrong answers only restarted the conversation, so 300 wrong
proofs and then the right one linked the account in one chat.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.domain.bot_dialogue import MAX_PROOF_FAILURES
from dispatch_tui.storage import subscribers, users
from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.tables import audit_log, contact, proof_failure, subscriber
from tests.storage.csvdata import load_all

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ACCOUNT = "100000002"
RIGHT = "UA-777002"
HELPLINE = "0 800 300 015"  # Закарпаттяобленерго's contact_phone in the sample data
_updates = iter(range(1, 1_000_000))


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    load_all(engine, tmp_path)
    return engine


def say(engine: Engine, chat: str, *texts: str, at: datetime = NOW) -> list[list[str]]:
    return [
        handle_chat_message(engine, "telegram", chat, text, update_id=next(_updates), now=at)
        for text in texts
    ]


def linked(engine: Engine, chat: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(contact.c.id).where(
                    contact.c.channel == "telegram",
                    contact.c.address == chat,
                    contact.c.consent == "opted_in",
                )
            ).first()
            is not None
        )


def locked_at(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(
            select(subscriber.c.self_service_locked_at).where(subscriber.c.account == ACCOUNT)
        ).scalar_one()


def subscriber_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(subscriber.c.id).where(subscriber.c.account == ACCOUNT)
            ).scalar_one()
        )


def test_three_hundred_wrong_proofs_then_the_right_one_link_nothing(loaded: Engine) -> None:
    guesses = [f"UA-{n:06d}" for n in range(300)]
    said = say(loaded, "666", "/add", ACCOUNT, *guesses, RIGHT, "/add", ACCOUNT, RIGHT)
    assert not linked(loaded, "666")
    assert locked_at(loaded) == NOW
    assert "Залишилось спроб: 1" in said[5][0]
    locked = said[6][0]
    assert "зателефонуйте" in locked and HELPLINE in locked
    # Starting again with the account number gets the same answer, not a new round.
    assert HELPLINE in said[-2][0]
    with loaded.connect() as conn:
        counted = conn.execute(select(func.count()).select_from(proof_failure)).scalar_one()
    assert counted == MAX_PROOF_FAILURES  # guesses after the lock are not even compared


def test_many_chats_share_one_account_budget(loaded: Engine) -> None:
    for chat in range(MAX_PROOF_FAILURES):
        say(loaded, f"90{chat}", "/add", ACCOUNT, "wrong")
    assert locked_at(loaded) == NOW
    said = say(loaded, "999", "/add", ACCOUNT, RIGHT)
    assert HELPLINE in said[1][0] and not linked(loaded, "999")


def test_a_lock_does_not_end_with_the_day(loaded: Engine) -> None:
    say(loaded, "666", "/add", ACCOUNT, *["x"] * MAX_PROOF_FAILURES)
    later = NOW + timedelta(days=30)
    say(loaded, "666", "/add", ACCOUNT, RIGHT, at=later)
    assert not linked(loaded, "666")


def test_one_chat_guessing_across_accounts_is_stopped(loaded: Engine) -> None:
    for n in range(MAX_PROOF_FAILURES):
        say(loaded, "777", "/add", f"90000000{n}", "12345")
    said = say(loaded, "777", "/add", ACCOUNT, RIGHT)
    assert HELPLINE in said[1][0] and not linked(loaded, "777")
    assert locked_at(loaded) is None  # nobody's account is locked by a stranger's misses
    say(loaded, "888", "/add", ACCOUNT, RIGHT)
    assert linked(loaded, "888")
    # The chat's own day ends; it may try again then.
    say(loaded, "777", "/add", ACCOUNT, RIGHT, at=NOW + timedelta(hours=25))
    assert linked(loaded, "777")


def test_only_an_operator_lifts_the_lock_and_it_is_audited(loaded: Engine) -> None:
    users.bootstrap_admin(loaded, "root", actor="root")
    users.add_operator(loaded, "ana", "dispatcher", actor="root")
    users.add_operator(loaded, "viktor", "viewer", actor="root")
    say(loaded, "666", "/add", ACCOUNT, *["x"] * MAX_PROOF_FAILURES)
    sid = subscriber_id(loaded)
    with loaded.connect() as conn:
        shown = subscribers.subscriber_detail(conn, sid).lock
    assert shown is not None and shown.locked_at == NOW
    assert shown.wrong_proofs == MAX_PROOF_FAILURES

    for who in ("viktor", "mallory"):
        with pytest.raises(subscribers.SubscriberError, match=r"viewer|not a dispatch-tui user"):
            subscribers.lift_self_service_lock(loaded, sid, actor=who, reason="asked")
    assert locked_at(loaded) == NOW
    with pytest.raises(subscribers.SubscriberError, match="say why"):
        subscribers.lift_self_service_lock(loaded, sid, actor="ana", reason=" ")

    lifted = NOW + timedelta(minutes=5)
    subscribers.lift_self_service_lock(
        loaded, sid, actor="ana", reason="caller named the meter", now=lifted
    )
    assert locked_at(loaded) is None
    with loaded.connect() as conn:
        entry = conn.execute(
            select(audit_log.c.actor, audit_log.c.entity_id, audit_log.c.detail).where(
                audit_log.c.action == "lift_self_service_lock"
            )
        ).one()
        assert subscribers.subscriber_detail(conn, sid).lock is None
    assert (entry.actor, entry.entity_id) == ("ana", str(sid))
    assert entry.detail["reason"] == "caller named the meter"
    with pytest.raises(subscribers.SubscriberError, match="not locked"):
        subscribers.lift_self_service_lock(loaded, sid, actor="ana", reason="again")

    # The same chat may prove it now: its misses before the lift are forgiven.
    say(loaded, "666", "/add", ACCOUNT, RIGHT, at=lifted)
    assert linked(loaded, "666")
