"""Messages without a notice, on SQLite and PostgreSQL: they exist only as the
answer to a stored inbound SMS or bot update, and the claim hands one out only
back to whoever wrote that, on the channel it came by.

Before: a row inserted into `message` with no notice ("FAKE: power off
tomorrow") was sent, because notice-less messages bypassed every approval
check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from dispatch_tui.storage import outbox
from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.inbound import handle_inbound
from dispatch_tui.storage.tables import inbound_message, message
from tests.storage.csvdata import load_all

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ANA = "+38641123456"
STRANGER = "+38640999888"


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    load_all(engine, tmp_path)
    return engine


def forged(**values: Any) -> dict[str, Any]:
    row = {
        "notice_id": None,
        "channel": "sms",
        "address": ANA,
        "language": "sl",
        "sender": "112",
        "body": "FAKE: power off tomorrow",
        "segments": 1,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": NOW,
        "expires_at": NOW + timedelta(days=1),
        "created_at": NOW,
    }
    return row | values


def claimed(engine: Engine, channels: list[str]) -> list[str]:
    got = outbox.claim_batch(engine, owner="t", channels=channels, now=NOW + timedelta(seconds=1))
    return [m.body for m in got]


def test_a_message_with_neither_notice_nor_inbound_row_cannot_exist(loaded: Engine) -> None:
    with pytest.raises(IntegrityError), loaded.begin() as conn:
        conn.execute(insert(message).values(**forged()))
    handle_inbound(loaded, sender=STRANGER, receiver="1", text="6-100001 PRIJAVA", now=NOW)
    # Nor can a genuine reply be cut loose from what it answers.
    with pytest.raises(IntegrityError), loaded.begin() as conn:
        conn.execute(update(message).values(inbound_id=None))


def test_a_forged_reply_tied_to_someone_elses_text_is_never_claimed(loaded: Engine) -> None:
    handle_inbound(loaded, sender=STRANGER, receiver="1", text="6-100001 PRIJAVA", now=NOW)
    handle_chat_message(loaded, "telegram", "555", "/start", update_id=1, now=NOW)
    with loaded.begin() as conn:
        sms_in, chat_in = conn.execute(
            select(inbound_message.c.id).order_by(inbound_message.c.id)
        ).scalars()
        conn.execute(
            insert(message),
            [
                forged(inbound_id=sms_in),  # to Ana, answering the stranger's text
                forged(inbound_id=chat_in, channel="sms", address="555"),  # wrong channel
                forged(inbound_id=chat_in, channel="telegram", address="556"),  # other chat
            ],
        )
    sms = claimed(loaded, ["sms"])
    chats = claimed(loaded, ["telegram"])
    assert [b for b in sms + chats if "FAKE" in b] == []
    assert len(sms) == 1 and "Prijava za 6-100001" in sms[0]  # the genuine reply goes
    assert len(chats) == 1 and chats[0].startswith("Вітаємо")
