"""Bot chats on both backends: a verified account becomes a contact that
notices reach; repeated updates change nothing; /stop opts out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.tables import contact, inbound_message, message
from tests.storage.csvdata import eic

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def consents(engine: Engine, chat: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(contact.c.consent).where(
                    contact.c.channel == "telegram", contact.c.address == chat
                )
            ).scalars()
        )


def talk(engine: Engine, chat: str, *texts: str, start: int = 1) -> list[list[str]]:
    return [
        handle_chat_message(engine, "telegram", chat, text, update_id=start + i, now=NOW)
        for i, text in enumerate(texts)
    ]


def test_verified_account_becomes_a_contact(loaded: Engine) -> None:
    said = talk(loaded, "555", "/start", "/add", "100000002", "wrong", "UA-777002")
    assert consents(loaded, "555") == ["opted_in"]
    assert "Минайська 16" in said[-1][0] and not any("Минайська" in t for t in said[-2])
    listed = talk(loaded, "555", "/list", start=10)[0][0]
    assert "100000002" in listed
    with loaded.connect() as conn:
        queued = conn.execute(
            select(message.c.address, message.c.channel).where(message.c.notice_id.is_(None))
        ).all()
    assert len(queued) == 6 and set(queued) == {("555", "telegram")}


def test_the_eic_tail_also_proves_it(loaded: Engine) -> None:
    tail = eic("62Z", 1)[-5:].lower()
    talk(loaded, "777", "/add", "100000001", tail)
    assert consents(loaded, "777") == ["opted_in"]


def test_a_repeated_update_changes_nothing(loaded: Engine) -> None:
    talk(loaded, "555", "/add", "100000002")
    again = handle_chat_message(loaded, "telegram", "555", "/add", update_id=1, now=NOW)
    assert again == []
    said = talk(loaded, "555", "UA-777002", start=3)
    assert "додано" in said[0][0]


def test_remove_and_stop_opt_out(loaded: Engine) -> None:
    talk(loaded, "555", "/add", "100000002", "UA-777002")
    talk(loaded, "555", "/remove 1", start=10)
    assert consents(loaded, "555") == ["opted_out"]
    talk(loaded, "555", "/add", "100000002", "UA-777002", start=20)
    assert consents(loaded, "555") == ["opted_in"]
    talk(loaded, "555", "/stop", start=30)
    assert consents(loaded, "555") == ["opted_out"]


def test_stop_cancels_what_still_waits_for_the_chat(loaded: Engine) -> None:
    talk(loaded, "555", "/add", "100000002", "UA-777002")
    with loaded.begin() as conn:
        contact_id = conn.execute(
            select(contact.c.id).where(contact.c.channel == "telegram", contact.c.address == "555")
        ).scalar_one()
        answered = conn.execute(
            select(func.max(inbound_message.c.id)).where(inbound_message.c.sender == "555")
        ).scalar_one()
        conn.execute(
            insert(message).values(
                inbound_id=answered,
                contact_id=contact_id,
                channel="telegram",
                address="555",
                language="uk",
                body="Планове відключення",
                status="pending",
                attempts=0,
                next_attempt_at=NOW,
                expires_at=NOW + timedelta(days=1),
                created_at=NOW,
            )
        )
    talk(loaded, "555", "/stop", start=10)
    with loaded.connect() as conn:
        status = conn.execute(
            select(message.c.status).where(message.c.contact_id == contact_id)
        ).scalar_one()
    assert status == "cancelled"
