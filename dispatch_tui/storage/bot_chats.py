"""Bot chats in the database: the conversation state, the accounts a chat
has proven, the wrong proofs counted against guessing, and the replies
queued through the outbox.

A linked chat is simply a contact (channel telegram/viber, address = chat
or user id) of the subscriber, opted in and proven with the proof as its
source, so outage notices reach it like any contact. Every chat message is
stored as an inbound row (channel telegram/viber) and its replies point to
it: a message without a notice exists only as such an answer.

Wrong proofs (here and in Ukrainian SMS sign-ups, `storage.inbound`) go to
`proof_failure`. An account that took `MAX_PROOF_FAILURES` in a day is
locked for self-service until an operator lifts it
(`storage.subscribers.lift_self_service_lock`); a chat or phone that gave
as many waits out the day. The count is read with the subscriber rows
locked, so parallel chats guessing one account cannot overrun it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, func, insert, or_, select, update

from dispatch_tui.domain import bot_dialogue as dialogue
from dispatch_tui.domain import reading_dialogue
from dispatch_tui.storage import bill_checks, consent, counts, readings, services
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.helplines import helpline_for
from dispatch_tui.storage.tables import (
    bot_chat,
    contact,
    inbound_message,
    message,
    metering_point,
    proof_failure,
    subscriber,
    subscription,
    utility,
)

REPLY_VALID = timedelta(hours=1)
TEXT_LIMIT = 1000


def _describe(action: dialogue.Action) -> str:
    """What a chat message changed, for the inbound row's outcome."""
    if isinstance(action, dialogue.Link):
        return f"linked {action.account}"
    if isinstance(action, dialogue.Unlink):
        return f"unlinked {action.account}"
    if isinstance(action, dialogue.ProofFailed):
        return f"wrong proof for {action.account}"
    if isinstance(action, dialogue.CheckBill):
        return "bill check"
    if isinstance(action, dialogue.SetService):
        return f"{action.service} {'on' if action.opted_in else 'off'}"
    return "stopped"


def subscriber_id(conn: Connection, number: str) -> int | None:
    return conn.execute(
        select(subscriber.c.id).where(subscriber.c.account == number).limit(1)
    ).scalar()


def account_of(conn: Connection, subscriber_id: int, number: str) -> dialogue.Account:
    """The subscriber's proofs (meter numbers, EIC tails) and addresses."""
    rows = conn.execute(
        select(
            metering_point.c.meter_number,
            metering_point.c.eic,
            metering_point.c.settlement,
            metering_point.c.street,
            metering_point.c.house,
        )
        .join(subscription, subscription.c.mp_id == metering_point.c.id)
        .where(subscription.c.subscriber_id == subscriber_id)
    ).all()
    return dialogue.Account(
        number,
        frozenset(r.meter_number for r in rows if r.meter_number),
        frozenset(r.eic[-5:] for r in rows if r.eic),
        tuple(f"{r.settlement}, {r.street} {r.house}" for r in rows),
    )


def _account_failures(conn: Connection, account: str, now: datetime) -> tuple[bool, str, datetime]:
    """(locked, helpline, counted from) for an account; its subscriber rows stay
    locked until the caller's write transaction ends."""
    rows = conn.execute(
        select(
            subscriber.c.self_service_locked_at,
            subscriber.c.self_service_unlocked_at,
            utility.c.contact_phone,
        )
        .join(utility, utility.c.id == subscriber.c.utility_id)
        .where(subscriber.c.account == account)
        .order_by(subscriber.c.id)
        .with_for_update(of=subscriber)
    ).all()
    # Read either way, so that a number nobody has costs the same queries as an account.
    fallback = helpline_for(conn, account)
    helpline = rows[0].contact_phone if rows else fallback
    locked = any(r.self_service_locked_at is not None for r in rows)
    # Wrong proofs before an operator lifted the lock are forgiven, in every chat.
    lifts = [r.self_service_unlocked_at for r in rows if r.self_service_unlocked_at]
    return locked, helpline, max([now - dialogue.PROOF_WINDOW, *lifts])


def _failures(conn: Connection, *where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).where(*where)).scalar_one())


def proof_budget(
    conn: Connection, *, channel: str, chat: str, account: str, now: datetime
) -> dialogue.ProofBudget:
    """How many wrong proofs `chat` may still give for `account` now."""
    locked, helpline, counted = _account_failures(conn, account, now)
    if locked:
        return dialogue.ProofBudget(0, helpline)
    by_account = _failures(conn, proof_failure.c.account == account, proof_failure.c.at > counted)
    by_chat = _failures(
        conn,
        proof_failure.c.channel == channel,
        proof_failure.c.chat == chat,
        proof_failure.c.at > now - dialogue.PROOF_WINDOW,
        or_(proof_failure.c.account != account, proof_failure.c.at > counted),
    )
    return dialogue.ProofBudget(dialogue.MAX_PROOF_FAILURES - max(by_account, by_chat), helpline)


def record_proof_failure(
    conn: Connection, *, channel: str, chat: str, account: str, now: datetime
) -> bool:
    """Count one wrong proof; True when it used up the account's budget and locked it."""
    conn.execute(
        insert(proof_failure).values(at=now, channel=channel, chat=chat[:64], account=account)
    )
    *_, counted = _account_failures(conn, account, now)
    spent = _failures(conn, proof_failure.c.account == account, proof_failure.c.at > counted)
    if spent < dialogue.MAX_PROOF_FAILURES:
        return False
    return bool(
        conn.execute(
            update(subscriber)
            .where(subscriber.c.account == account, subscriber.c.self_service_locked_at.is_(None))
            .values(self_service_locked_at=now)
        ).rowcount
    )


class DbAccountBook:
    """Accounts as one chat may verify them: proofs, addresses, what is left to guess."""

    def __init__(self, conn: Connection, *, channel: str, chat: str, now: datetime) -> None:
        self.conn = conn
        self.channel = channel
        self.chat = chat
        self.now = now

    def find(self, number: str) -> dialogue.Account | None:
        sid = subscriber_id(self.conn, number)
        return None if sid is None else account_of(self.conn, sid, number)

    def budget(self, number: str) -> dialogue.ProofBudget:
        return proof_budget(
            self.conn, channel=self.channel, chat=self.chat, account=number, now=self.now
        )


def _linked(conn: Connection, channel: str, chat_id: str) -> list[dialogue.Account]:
    rows = conn.execute(
        select(subscriber.c.id, subscriber.c.account)
        .join(contact, contact.c.subscriber_id == subscriber.c.id)
        .where(
            contact.c.channel == channel,
            contact.c.address == chat_id,
            contact.c.consent == "opted_in",
        )
        .order_by(subscriber.c.account)
    ).all()
    return [account_of(conn, r.id, r.account) for r in rows]


def _chat_contacts(conn: Connection, channel: str, chat_id: str) -> list[int]:
    """The chat's opted-in contacts: one per account it linked."""
    return list(
        conn.scalars(
            select(contact.c.id).where(
                contact.c.channel == channel,
                contact.c.address == chat_id,
                contact.c.consent == "opted_in",
            )
        )
    )


def _chat_services(conn: Connection, contact_ids: list[int]) -> dict[str, bool]:
    """A service is on for the chat when every account it linked has it."""
    consents = services.service_consents(conn, contact_ids)
    return {
        service: bool(contact_ids)
        and all(consents.get(cid, {}).get(service) == "opted_in" for cid in contact_ids)
        for service in dialogue.SERVICES
    }


def _link(conn: Connection, channel: str, chat_id: str, account: str, now: datetime) -> None:
    """The proven account's subscriber gets this chat as an opted-in, proven contact."""
    sid = subscriber_id(conn, account)
    if sid is None:
        return
    values = {
        "consent": "opted_in",
        "consent_at": now,
        "consent_source": f"{channel} chat {chat_id}: verified",
        "proven": True,
    }
    with counts.contacts_changing(conn, [sid]):
        existing = conn.execute(
            select(contact.c.id).where(
                contact.c.channel == channel,
                contact.c.address == chat_id,
                contact.c.subscriber_id == sid,
            )
        ).scalar()
        if existing is None:
            conn.execute(
                insert(contact).values(
                    subscriber_id=sid, channel=channel, address=chat_id, **values
                )
            )
        else:
            conn.execute(update(contact).where(contact.c.id == existing).values(**values))


def _unlink(
    conn: Connection, channel: str, chat_id: str, account: str | None, now: datetime
) -> None:
    """/remove (one account) or /stop (all): opted out, and what waits is cancelled."""
    query = select(contact.c.id).where(contact.c.channel == channel, contact.c.address == chat_id)
    if account is not None:
        query = query.where(contact.c.subscriber_id == subscriber_id(conn, account))
    how = f"/remove {account}" if account is not None else "/stop"
    consent.opt_out(
        conn, list(conn.scalars(query)), now=now, source=f"{channel} chat {chat_id}: {how}"
    )


def _reading(
    conn: Connection,
    channel: str,
    chat_id: str,
    state: dialogue.ChatState,
    text: str,
    linked: list[dialogue.Account],
    now: datetime,
) -> tuple[dialogue.Reply, readings.IntakeResult | None] | None:
    """A meter reading's turn (domain.reading_dialogue), taken by storage.readings;
    None when the message is about something else."""
    turn = reading_dialogue.respond(state, text, linked)
    if turn is None:
        return None
    texts = list(turn.texts)
    taken = None
    if turn.submit is not None:
        intake = readings.Intake(
            channel, turn.submit.identifier, turn.submit.values, text, chat_id, state.language
        )
        taken = readings.submit_reading(conn, intake, now=now)
        texts.append(taken.reply)
    return dialogue.Reply(turn.state, texts), taken


def _outcome(taken: readings.IntakeResult | None) -> str:
    if taken is None:
        return ""
    return "reading accepted" if taken.accepted else f"reading refused: {taken.reason}"


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
        book = DbAccountBook(conn, channel=channel, chat=chat_id, now=now)
        contact_ids = _chat_contacts(conn, channel, chat_id)
        linked = _linked(conn, channel, chat_id)
        reading = _reading(conn, channel, chat_id, state, text[:500], linked, now)
        if reading is not None:
            reply, taken = reading
        else:
            if state.step is dialogue.Step.READING:  # another command: no reading waits
                state = replace(state, step=dialogue.Step.IDLE, pending=None)
            services_now = _chat_services(conn, contact_ids)
            reply = dialogue.respond(state, text[:500], book, linked, services_now)
            taken = None
        texts = list(reply.texts)
        for action in reply.actions:
            if isinstance(action, dialogue.Link):
                _link(conn, channel, chat_id, action.account, now)
            elif isinstance(action, dialogue.Unlink):
                _unlink(conn, channel, chat_id, action.account, now)
            elif isinstance(action, dialogue.ProofFailed):
                record_proof_failure(
                    conn, channel=channel, chat=chat_id, account=action.account, now=now
                )
            elif isinstance(action, dialogue.CheckBill):
                answers = bill_checks.chat_bill_check(
                    conn, channel, chat_id, now=now, language=reply.state.language
                )
                texts.extend(answer.text for answer in answers)
            elif isinstance(action, dialogue.SetService):
                services.set_service_consent(
                    conn,
                    contact_ids,
                    action.service,
                    opted_in=action.opted_in,
                    now=now,
                    source=f"{channel} chat {chat_id}: /services",
                )
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
                outcome=_outcome(taken) or "; ".join(map(_describe, reply.actions)) or "answered",
                replied=bool(texts),
            )
            .returning(inbound_message.c.id)
        ).scalar_one()
        if taken is not None:
            readings.link_inbound(conn, taken.reading_id, inbound_id)
        for body in texts:
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
    return texts
