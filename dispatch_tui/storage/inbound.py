"""Inbound SMS: store it, apply the sign-up or opt-out it asks for, and
queue the confirmation through the outbox like any message.

Everything happens in one write transaction, so a message is handled
once even when Kannel retries the callback (`gateway_id` is unique). The
change a person asks for is always applied; only replies are limited
(per number and overall), so the gateway cannot be used to pump SMS: a
thousand texts from one number get a handful of replies, and unknown
text gets one help reply a day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select, update

from dispatch_tui.domain import sms
from dispatch_tui.domain.keywords import Command, IdKind, Intent, parse
from dispatch_tui.domain.replies import Reply, phone_language, reply_text
from dispatch_tui.storage import consent
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import (
    contact,
    inbound_message,
    message,
    metering_point,
    subscriber,
    subscription,
    utility,
)

TEXT_LIMIT = 1000
REPLY_VALID = timedelta(hours=12)
_PHONE = re.compile(r"\+?[0-9]{3,15}")


class InboundError(ValueError):
    """The gateway handed us something that is not an inbound SMS."""


@dataclass(frozen=True)
class ReplyLimits:
    per_number_hour: int = 3
    per_number_day: int = 6
    help_per_number_day: int = 1
    global_per_minute: int = 120


@dataclass(frozen=True)
class InboundResult:
    inbound_id: int
    command: Command | None
    outcome: str
    reply: str | None
    duplicate: bool = False


def normalise_sender(raw: str) -> str:
    """E.164 as contacts store it; Kannel may or may not keep the "+"."""
    text = raw.strip().replace(" ", "")
    if not _PHONE.fullmatch(text):
        raise InboundError(f"sender {raw[:40]!r} is not a phone number")
    return text if text.startswith("+") or len(text) < 8 else "+" + text


@dataclass(frozen=True)
class _Effect:
    outcome: str
    reply: Reply
    language: str | None
    contact_id: int | None = None


def _subscribers(conn: Connection, command: Command) -> list[tuple[int, str]]:
    """(subscriber id, language) for the identifier in the command."""
    if command.id_kind is IdKind.SI_METERING_POINT:
        query = (
            select(subscriber.c.id, subscriber.c.language)
            .join(subscription, subscription.c.subscriber_id == subscriber.c.id)
            .join(metering_point, metering_point.c.id == subscription.c.mp_id)
            .join(utility, utility.c.id == metering_point.c.utility_id)
            .where(metering_point.c.mp_id == command.identifier, utility.c.country == "SI")
        )
    else:
        country = "BG" if command.id_kind is IdKind.BG_CLIENT else "UA"
        query = (
            select(subscriber.c.id, subscriber.c.language)
            .join(utility, utility.c.id == subscriber.c.utility_id)
            .where(subscriber.c.account == command.identifier, utility.c.country == country)
        )
    return [(r.id, r.language) for r in conn.execute(query.distinct())]


def _phone_contacts(conn: Connection, sender: str) -> list[tuple[int, str, str]]:
    rows = conn.execute(
        select(contact.c.id, contact.c.consent, subscriber.c.language)
        .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
        .where(contact.c.channel == "sms", contact.c.address == sender)
    )
    return [(r.id, r.consent, r.language) for r in rows]


def _apply(
    conn: Connection, command: Command | None, sender: str, now: datetime, text: str
) -> _Effect:
    source = f"SMS {text[:60]!r} from {sender}"
    known = _phone_contacts(conn, sender)
    own_language = known[0][2] if known else None
    if command is None:
        return _Effect("not understood", Reply.HELP, own_language or phone_language(sender))
    language = own_language or command.language or phone_language(sender)
    if command.intent in (Intent.STOP_ALL, Intent.START_ALL):
        if not known:
            return _Effect("no sign-ups for this phone", Reply.NOTHING_TO_DO, language)
        ids = [c[0] for c in known]
        if command.intent is Intent.STOP_ALL:
            consent.opt_out(conn, ids, now=now, source=source)
            return _Effect(f"opted out {len(ids)} contact(s)", Reply.STOPPED, language, ids[0])
        conn.execute(
            update(contact)
            .where(contact.c.id.in_(ids))
            .values(consent="opted_in", consent_at=now, consent_source=source)
        )
        return _Effect(f"opted in {len(ids)} contact(s)", Reply.STARTED, language, ids[0])
    found = _subscribers(conn, command)
    if not found:
        return _Effect(f"unknown {command.identifier}", Reply.UNKNOWN_ID, language)
    language = found[0][1]
    ids = []
    for subscriber_id, _ in found:
        existing = conn.execute(
            select(contact.c.id).where(
                contact.c.subscriber_id == subscriber_id,
                contact.c.channel == "sms",
                contact.c.address == sender,
            )
        ).scalar()
        if command.intent is Intent.UNSUBSCRIBE:
            if existing is not None:
                ids.append(existing)
            continue
        if existing is None:
            existing = conn.execute(
                insert(contact).returning(contact.c.id),
                {
                    "subscriber_id": subscriber_id,
                    "channel": "sms",
                    "address": sender,
                    "consent": "opted_in",
                    "consent_at": now,
                    "consent_source": source,
                },
            ).scalar_one()
        else:
            conn.execute(
                update(contact)
                .where(contact.c.id == existing)
                .values(consent="opted_in", consent_at=now, consent_source=source)
            )
        ids.append(existing)
    if command.intent is Intent.UNSUBSCRIBE:
        if not ids:
            return _Effect(
                f"no sign-up for {command.identifier} from this phone",
                Reply.NOT_SIGNED_UP,
                language,
            )
        consent.opt_out(conn, ids, now=now, source=source)
        return _Effect(
            f"opted out {command.identifier} ({len(ids)} contact(s))",
            Reply.UNSUBSCRIBED,
            language,
            ids[0],
        )
    return _Effect(f"opted in {command.identifier}", Reply.SUBSCRIBED, language, ids[0])


def _may_reply(
    conn: Connection, sender: str, now: datetime, limits: ReplyLimits, *, help_text: bool
) -> bool:
    def replies(since: timedelta, *extra: object) -> int:
        return int(
            conn.execute(
                select(func.count()).where(
                    inbound_message.c.channel == "sms",
                    inbound_message.c.replied.is_(True),
                    inbound_message.c.received_at > now - since,
                    *extra,  # type: ignore[arg-type]
                )
            ).scalar_one()
        )

    mine = inbound_message.c.sender == sender
    if (
        help_text
        and replies(timedelta(days=1), mine, inbound_message.c.command.is_(None))
        >= limits.help_per_number_day
    ):
        return False
    return (
        replies(timedelta(hours=1), mine) < limits.per_number_hour
        and replies(timedelta(days=1), mine) < limits.per_number_day
        and replies(timedelta(minutes=1)) < limits.global_per_minute
    )


def handle_inbound(
    engine: Engine,
    *,
    sender: str,
    receiver: str,
    text: str,
    gateway_id: str | None = None,
    now: datetime | None = None,
    limits: ReplyLimits = ReplyLimits(),
) -> InboundResult:
    """Handle one inbound SMS exactly once; see the module docstring."""
    phone = normalise_sender(sender)
    receiver = receiver.strip()[:32]
    text = text[:TEXT_LIMIT]
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        if gateway_id:
            seen = conn.execute(
                select(inbound_message.c.id, inbound_message.c.outcome).where(
                    inbound_message.c.gateway_id == gateway_id
                )
            ).first()
            if seen is not None:
                return InboundResult(seen.id, parse(text), seen.outcome, None, duplicate=True)
        command = parse(text)
        effect = _apply(conn, command, phone, now, text)
        reply = None
        if _may_reply(conn, phone, now, limits, help_text=command is None):
            identifier = command.identifier if command else None
            reply = reply_text(effect.reply, effect.language, identifier)
        inbound_id = conn.execute(
            insert(inbound_message).returning(inbound_message.c.id),
            {
                "received_at": now,
                "channel": "sms",
                "sender": phone,
                "receiver": receiver,
                "text": text,
                "gateway_id": gateway_id or None,
                "command": str(command.intent) if command else None,
                "identifier": command.identifier if command else None,
                "outcome": effect.outcome if reply else f"{effect.outcome}; reply withheld",
                "replied": reply is not None,
            },
        ).scalar_one()
        if reply is not None:
            reply_id = conn.execute(
                insert(message).returning(message.c.id),
                {
                    "notice_id": None,
                    "inbound_id": inbound_id,
                    "contact_id": effect.contact_id,
                    "channel": "sms",
                    "address": phone,
                    "language": effect.language or "en",
                    "sender": receiver or None,
                    "body": reply,
                    "segments": sms.analyse(reply).segments,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "expires_at": now + REPLY_VALID,
                    "created_at": now,
                },
            ).scalar_one()
            conn.execute(
                update(inbound_message)
                .where(inbound_message.c.id == inbound_id)
                .values(reply_message_id=reply_id)
            )
    return InboundResult(inbound_id, command, effect.outcome, reply)
