"""Bot chats in the database: the conversation state, the accounts a chat
has proven, and the replies queued through the outbox.

A linked chat is simply a contact (channel telegram/viber, address = chat
or user id) of the subscriber, opted in with the proof as its source, so
outage notices reach it like any contact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from dispatch_tui.domain import bot_dialogue as dialogue
from dispatch_tui.storage import consent
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import (
    bot_chat,
    contact,
    inbound_message,
    message,
    metering_point,
    subscriber,
    subscription,
)

REPLY_VALID = timedelta(hours=1)
TEXT_LIMIT = 1000


def _describe(action: dialogue.Action) -> str:
    """What a chat message changed, for the inbound row's outcome."""
    if isinstance(action, dialogue.Link):
        return f"linked {action.account}"
    if isinstance(action, dialogue.Unlink):
        return f"unlinked {action.account}"
    return "stopped"


class DbAccountBook:
    """Accounts as the bot may verify them: meter numbers, EIC tails, addresses."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def subscriber_id(self, number: str) -> int | None:
        return self.conn.execute(
            select(subscriber.c.id).where(subscriber.c.account == number).limit(1)
        ).scalar()

    def find(self, number: str) -> dialogue.Account | None:
        sid = self.subscriber_id(number)
        if sid is None:
            return None
        rows = self.conn.execute(
            select(
                metering_point.c.meter_number,
                metering_point.c.eic,
                metering_point.c.settlement,
                metering_point.c.street,
                metering_point.c.house,
            )
            .join(subscription, subscription.c.mp_id == metering_point.c.id)
            .where(subscription.c.subscriber_id == sid)
        ).all()
        return dialogue.Account(
            number,
            frozenset(r.meter_number for r in rows if r.meter_number),
            frozenset(r.eic[-5:] for r in rows if r.eic),
            tuple(f"{r.settlement}, {r.street} {r.house}" for r in rows),
        )


def _linked(conn: Connection, channel: str, chat_id: str) -> list[dialogue.Account]:
    book = DbAccountBook(conn)
    numbers = conn.execute(
        select(subscriber.c.account)
        .join(contact, contact.c.subscriber_id == subscriber.c.id)
        .where(
            contact.c.channel == channel,
            contact.c.address == chat_id,
            contact.c.consent == "opted_in",
        )
        .order_by(subscriber.c.account)
    ).scalars()
    return [a for a in (book.find(n) for n in numbers) if a is not None]


def _link(conn: Connection, channel: str, chat_id: str, account: str, now: datetime) -> None:
    """The proven account's subscriber gets this chat as an opted-in contact."""
    sid = DbAccountBook(conn).subscriber_id(account)
    if sid is None:
        return
    values = {
        "consent": "opted_in",
        "consent_at": now,
        "consent_source": f"{channel} chat {chat_id}: verified",
    }
    existing = conn.execute(
        select(contact.c.id).where(
            contact.c.channel == channel,
            contact.c.address == chat_id,
            contact.c.subscriber_id == sid,
        )
    ).scalar()
    if existing is None:
        conn.execute(
            insert(contact).values(subscriber_id=sid, channel=channel, address=chat_id, **values)
        )
    else:
        conn.execute(update(contact).where(contact.c.id == existing).values(**values))


def _unlink(
    conn: Connection, channel: str, chat_id: str, account: str | None, now: datetime
) -> None:
    """/remove (one account) or /stop (all): opted out, and what waits is cancelled."""
    query = select(contact.c.id).where(contact.c.channel == channel, contact.c.address == chat_id)
    if account is not None:
        query = query.where(contact.c.subscriber_id == DbAccountBook(conn).subscriber_id(account))
    how = f"/remove {account}" if account is not None else "/stop"
    consent.opt_out(
        conn, list(conn.scalars(query)), now=now, source=f"{channel} chat {chat_id}: {how}"
    )


def handle_chat_message(
    engine: Engine,
    channel: str,
    chat_id: str,
    text: str,
    *,
    update_id: int | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Answer one chat message; the replies are queued in the outbox and returned.

    A Telegram update seen before (`update_id` not above the chat's last)
    changes nothing: webhooks and polling may deliver an update twice.
    """
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(bot_chat.c.id, bot_chat.c.state, bot_chat.c.last_update_id).where(
                bot_chat.c.channel == channel, bot_chat.c.chat_id == chat_id
            )
        ).first()
        seen = row.last_update_id if row is not None else None
        if update_id is not None and seen is not None and update_id <= seen:
            return []
        state = dialogue.ChatState.from_dict(row.state if row is not None else None)
        reply = dialogue.respond(
            state, text[:500], DbAccountBook(conn), _linked(conn, channel, chat_id)
        )
        for action in reply.actions:
            if isinstance(action, dialogue.Link):
                _link(conn, channel, chat_id, action.account, now)
            elif isinstance(action, dialogue.Unlink):
                _unlink(conn, channel, chat_id, action.account, now)
            else:
                _unlink(conn, channel, chat_id, None, now)
        values = {
            "state": reply.state.to_dict(),
            "updated_at": now,
            "last_update_id": update_id if update_id is not None else seen,
        }
        if row is None:
            conn.execute(insert(bot_chat).values(channel=channel, chat_id=chat_id, **values))
        else:
            conn.execute(update(bot_chat).where(bot_chat.c.id == row.id).values(**values))
        inbound_id = conn.execute(
            insert(inbound_message)
            .values(
                received_at=now,
                channel=channel,
                sender=chat_id,
                receiver="",
                text=text[:TEXT_LIMIT],
                gateway_id=f"{channel}:{chat_id}:{update_id}" if update_id is not None else None,
                outcome="; ".join(map(_describe, reply.actions)) or "answered",
                replied=bool(reply.texts),
            )
            .returning(inbound_message.c.id)
        ).scalar_one()
        for body in reply.texts:
            conn.execute(
                insert(message).values(
                    notice_id=None,
                    inbound_id=inbound_id,
                    contact_id=None,
                    channel=channel,
                    address=chat_id,
                    language=reply.state.language,
                    body=body,
                    segments=1,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    expires_at=now + REPLY_VALID,
                    created_at=now,
                )
            )
    return reply.texts
