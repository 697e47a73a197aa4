"""Inbound SMS: store it, apply the sign-up or opt-out it asks for, and
queue the confirmation through the outbox like any message.

Everything happens in one write transaction, so a message is handled
once even when Kannel retries the callback (`gateway_id` is unique). An
opt-out is always applied; only replies are limited (per number and
overall), so the gateway cannot be used to pump SMS: a thousand texts from
one number get a handful of replies, and unknown text gets one help reply
a day. The reply points to the stored inbound row it answers.

Anybody can text any number, so what a sign-up reaches is bounded:

- "<metering point> PRIJAVA" attaches the phone to that metering point
  only (`contact_scope`), never to the customer's other places. A sign-up
  by id alone (SI, BG) proves nothing: the contact is marked unproven, and
  its notices name metering points and settlements, not streets.
- A Ukrainian account sign-up carries the bot's proof in the same text
  ("<account> <meter number or EIC tail> СТАРТ"); wrong proofs count
  against the account and the phone exactly like the bot's, and a locked
  account is told to call the utility. A phone the utility already has as
  the account's contact may come back without one.
- A text shaped like a meter reading ("<account> <reading>", seed 003) is one
  when no keyword reads it, or when the phone is a proven contact of the
  account it names; storage.readings takes it and gives the answer.
- A phone holds at most `signups_per_phone` sign-ups (a metering point for
  a scoped contact, else an account), counting all its opted-in contacts;
  one more is refused with a reply that says so, and START brings back no
  more than that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, null, select, update

from dispatch_tui.domain import sms
from dispatch_tui.domain.bot_dialogue import proof_matches
from dispatch_tui.domain.keywords import Command, IdKind, Intent, parse
from dispatch_tui.domain.reading_parse import parse_sms
from dispatch_tui.domain.replies import Reply, phone_language, reply_text
from dispatch_tui.storage import bill_checks, consent, counts
from dispatch_tui.storage.bot_chats import account_of, proof_budget, record_proof_failure
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.readings import (
    Intake,
    IntakeResult,
    link_inbound,
    submit_reading,
    verified_for,
)
from dispatch_tui.storage.tables import (
    contact,
    contact_scope,
    inbound_message,
    message,
    metering_point,
    subscriber,
    subscription,
    utility,
)

TEXT_LIMIT = 1000
REPLY_VALID = timedelta(hours=12)
SIGNUPS_PER_PHONE = 5
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
    helpline: str = ""
    text: str = ""
    """A reply written whole (a bill check's figures), sent instead of `reply`'s."""
    reading: IntakeResult | None = None
    """A meter reading's intake, whose answer is the reply."""


@dataclass(frozen=True)
class _Request:
    """One text being applied: who sent it, when, and the limit on sign-ups."""

    conn: Connection
    phone: str
    now: datetime
    source: str
    limit: int


def _subscribers(conn: Connection, command: Command) -> Sequence[Row[Any]]:
    """The subscribers the identifier names: id, language, the metering point
    (SI; None for an account), whether self-service is locked, the helpline."""
    columns = (
        subscriber.c.id,
        subscriber.c.language,
        subscriber.c.self_service_locked_at.is_not(None).label("locked"),
        utility.c.contact_phone.label("helpline"),
    )
    if command.id_kind is IdKind.SI_METERING_POINT:
        query = (
            select(*columns, metering_point.c.id.label("mp"))
            .join(subscription, subscription.c.subscriber_id == subscriber.c.id)
            .join(metering_point, metering_point.c.id == subscription.c.mp_id)
            .join(utility, utility.c.id == metering_point.c.utility_id)
            .where(metering_point.c.mp_id == command.identifier, utility.c.country == "SI")
        )
    else:
        country = "BG" if command.id_kind is IdKind.BG_CLIENT else "UA"
        query = (
            select(*columns, null().label("mp"))
            .join(utility, utility.c.id == subscriber.c.utility_id)
            .where(subscriber.c.account == command.identifier, utility.c.country == country)
        )
    return conn.execute(query.distinct().order_by(subscriber.c.id)).all()


def _phone_contacts(conn: Connection, sender: str) -> list[tuple[int, str, str]]:
    rows = conn.execute(
        select(contact.c.id, contact.c.consent, subscriber.c.language)
        .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
        .where(contact.c.channel == "sms", contact.c.address == sender)
    )
    return [(r.id, r.consent, r.language) for r in rows]


def _contact(conn: Connection, subscriber_id: int, phone: str) -> Row[Any, Any, Any] | None:
    return conn.execute(
        select(contact.c.id, contact.c.consent, contact.c.proven).where(
            contact.c.subscriber_id == subscriber_id,
            contact.c.channel == "sms",
            contact.c.address == phone,
        )
    ).first()


def _scope(conn: Connection, contact_id: int) -> set[int]:
    return set(
        conn.scalars(select(contact_scope.c.mp_id).where(contact_scope.c.contact_id == contact_id))
    )


Unit = tuple[str, int]
"""One sign-up a phone holds: ("mp", metering point) if scoped, else ("account", subscriber)."""


def _held(conn: Connection, phone: str, *, consenting_only: bool = True) -> set[Unit]:
    query = select(contact.c.id, contact.c.subscriber_id).where(
        contact.c.channel == "sms", contact.c.address == phone
    )
    if consenting_only:
        query = query.where(contact.c.consent == "opted_in")
    contacts = conn.execute(query).all()
    scoped: dict[int, set[int]] = {}
    for cid, mp in conn.execute(
        select(contact_scope.c.contact_id, contact_scope.c.mp_id).where(
            contact_scope.c.contact_id.in_([c.id for c in contacts])
        )
    ):
        scoped.setdefault(cid, set()).add(mp)
    held: set[Unit] = set()
    for c in contacts:
        if c.id in scoped:
            held |= {("mp", mp) for mp in scoped[c.id]}
        else:
            held.add(("account", c.subscriber_id))
    return held


def _covered(conn: Connection, subscriber_id: int, mp: int | None, phone: str) -> bool:
    """Whether the phone already hears about this place (or account)."""
    row = _contact(conn, subscriber_id, phone)
    if row is None or row.consent != "opted_in":
        return False
    scope = _scope(conn, row.id)
    return not scope or (mp is not None and mp in scope)


def _over_limit(req: _Request, targets: Sequence[Row[Any]]) -> bool:
    """Whether signing up `targets` would give the phone more sign-ups than allowed."""
    new = {
        ("mp", int(t.mp)) if t.mp is not None else ("account", int(t.id))
        for t in targets
        if not _covered(req.conn, int(t.id), t.mp, req.phone)
    }
    return bool(new) and len(_held(req.conn, req.phone) | new) > req.limit


def _attach(req: _Request, subscriber_id: int, mp: int | None, *, proven: bool) -> int:
    """Opt the phone in for the place (or, proven or by account, the whole account)."""
    with counts.contacts_changing(req.conn, [subscriber_id]):
        return _opt_in(req, subscriber_id, mp, proven=proven)


def _opt_in(req: _Request, subscriber_id: int, mp: int | None, *, proven: bool) -> int:
    conn = req.conn
    values = {"consent": "opted_in", "consent_at": req.now, "consent_source": req.source}
    row = _contact(conn, subscriber_id, req.phone)
    if row is None:
        contact_id = int(
            conn.execute(
                insert(contact).returning(contact.c.id),
                {
                    "subscriber_id": subscriber_id,
                    "channel": "sms",
                    "address": req.phone,
                    "proven": proven,
                    **values,
                },
            ).scalar_one()
        )
        if mp is not None and not proven:
            conn.execute(insert(contact_scope).values(contact_id=contact_id, mp_id=mp))
        return contact_id
    contact_id = int(row.id)
    scope = _scope(conn, contact_id)
    narrow = mp is not None and not proven and (bool(scope) or not row.proven)
    if narrow and scope and row.consent != "opted_in":
        # Signing up again after leaving names only this place, not what was left.
        conn.execute(delete(contact_scope).where(contact_scope.c.contact_id == contact_id))
        scope = set()
    if narrow and mp not in scope:
        conn.execute(insert(contact_scope).values(contact_id=contact_id, mp_id=mp))
    if not narrow and scope:
        conn.execute(delete(contact_scope).where(contact_scope.c.contact_id == contact_id))
    conn.execute(
        update(contact)
        .where(contact.c.id == contact_id)
        .values(**values, proven=row.proven or proven)
    )
    return contact_id


def _sign_up(req: _Request, command: Command, language: str | None) -> _Effect:
    found = _subscribers(req.conn, command)
    if command.id_kind is IdKind.UA_ACCOUNT:
        return _sign_up_with_proof(req, command, found, language)
    if not found:
        return _Effect(f"unknown {command.identifier}", Reply.UNKNOWN_ID, language)
    language = str(found[0].language)
    if any(t.locked for t in found):
        return _Effect(
            f"self-service locked for {command.identifier}",
            Reply.LOCKED,
            language,
            helpline=str(found[0].helpline),
        )
    if _over_limit(req, found):
        return _Effect(f"sign-up limit ({req.limit}) reached", Reply.TOO_MANY_SIGNUPS, language)
    ids = [_attach(req, int(t.id), t.mp, proven=False) for t in found]
    return _Effect(f"opted in {command.identifier}", Reply.SUBSCRIBED, language, ids[0])


def _sign_up_with_proof(
    req: _Request, command: Command, found: Sequence[Row[Any]], language: str | None
) -> _Effect:
    """A Ukrainian account: the proof decides, counted like the bot's."""
    number = str(command.identifier)
    if found:
        language = str(found[0].language)
    if command.proof is None:
        # The utility's own records already tie this phone to the account.
        known = [t for t in found if (c := _contact(req.conn, int(t.id), req.phone)) and c.proven]
        if not known:
            return _Effect(f"proof needed for {number}", Reply.NEEDS_PROOF, language)
        if _over_limit(req, known):
            return _Effect(f"sign-up limit ({req.limit}) reached", Reply.TOO_MANY_SIGNUPS, language)
        ids = [_attach(req, int(t.id), None, proven=True) for t in known]
        return _Effect(f"opted in {number}", Reply.SUBSCRIBED, language, ids[0])
    budget = proof_budget(req.conn, channel="sms", chat=req.phone, account=number, now=req.now)
    if budget.left <= 0:
        return _Effect(
            f"self-service locked for {number}", Reply.LOCKED, language, helpline=budget.helpline
        )
    if _over_limit(req, found):
        return _Effect(f"sign-up limit ({req.limit}) reached", Reply.TOO_MANY_SIGNUPS, language)
    proven = [
        t for t in found if proof_matches(account_of(req.conn, int(t.id), number), command.proof)
    ]
    if not proven:
        record_proof_failure(req.conn, channel="sms", chat=req.phone, account=number, now=req.now)
        if budget.left <= 1:
            return _Effect(
                f"wrong proof for {number}; locked",
                Reply.LOCKED,
                language,
                helpline=budget.helpline,
            )
        return _Effect(f"wrong proof for {number}", Reply.WRONG_PROOF, language)
    ids = [_attach(req, int(t.id), None, proven=True) for t in proven]
    return _Effect(f"opted in {number} (proven)", Reply.SUBSCRIBED, language, ids[0])


def _leave(req: _Request, command: Command, language: str | None) -> _Effect:
    """ODJAVA / СТОП <id>: a scoped contact drops the place, or leaves with its last."""
    found = _subscribers(req.conn, command)
    if not found:
        return _Effect(f"unknown {command.identifier}", Reply.UNKNOWN_ID, language)
    language = str(found[0].language)
    leaving: list[int] = []
    narrowed: list[int] = []
    for t in found:
        row = _contact(req.conn, int(t.id), req.phone)
        if row is None:
            continue
        scope = _scope(req.conn, row.id)
        if t.mp is not None and scope:
            if t.mp not in scope:
                continue
            if len(scope) > 1 and row.consent == "opted_in":
                req.conn.execute(
                    delete(contact_scope).where(
                        contact_scope.c.contact_id == row.id, contact_scope.c.mp_id == t.mp
                    )
                )
                narrowed.append(row.id)
                continue
        leaving.append(row.id)
    if not leaving and not narrowed:
        return _Effect(
            f"no sign-up for {command.identifier} from this phone", Reply.NOT_SIGNED_UP, language
        )
    consent.opt_out(req.conn, leaving, now=req.now, source=req.source)
    return _Effect(
        f"opted out {command.identifier} ({len(leaving) + len(narrowed)} contact(s))",
        Reply.UNSUBSCRIBED,
        language,
        (leaving + narrowed)[0],
    )


def _apply(req: _Request, command: Command | None) -> _Effect:
    known = _phone_contacts(req.conn, req.phone)
    own_language = known[0][2] if known else None
    if command is None:
        return _Effect("not understood", Reply.HELP, own_language or phone_language(req.phone))
    language = own_language or command.language or phone_language(req.phone)
    if command.intent in (Intent.STOP_ALL, Intent.START_ALL):
        if not known:
            return _Effect("no sign-ups for this phone", Reply.NOTHING_TO_DO, language)
        ids = [c[0] for c in known]
        if command.intent is Intent.STOP_ALL:
            consent.opt_out(req.conn, ids, now=req.now, source=req.source)
            return _Effect(f"opted out {len(ids)} contact(s)", Reply.STOPPED, language, ids[0])
        if len(_held(req.conn, req.phone, consenting_only=False)) > req.limit:
            return _Effect(f"sign-up limit ({req.limit}) reached", Reply.TOO_MANY_SIGNUPS, language)
        with counts.contacts_changing(req.conn, counts.subscribers_of(req.conn, ids)):
            req.conn.execute(
                update(contact)
                .where(contact.c.id.in_(ids))
                .values(consent="opted_in", consent_at=req.now, consent_source=req.source)
            )
        return _Effect(f"opted in {len(ids)} contact(s)", Reply.STARTED, language, ids[0])
    if command.intent is Intent.UNSUBSCRIBE:
        return _leave(req, command, language)
    if command.intent is Intent.BILL_CHECK:
        check = bill_checks.sms_bill_check(
            req.conn, req.phone, command.identifier, now=req.now, language=language
        )
        what = f"bill check {command.identifier or '(no number)'}: {check.outcome}"
        return _Effect(what, Reply.HELP, check.language, check.contact_id, text=check.text)
    if command.intent in (Intent.BILL_SUBSCRIBE, Intent.BILL_UNSUBSCRIBE):
        done = bill_checks.sms_bill_services(
            req.conn,
            req.phone,
            opted_in=command.intent is Intent.BILL_SUBSCRIBE,
            now=req.now,
            language=language,
            source=req.source,
        )
        return _Effect(done.outcome, Reply.HELP, done.language, done.contact_id, text=done.text)
    return _sign_up(req, command, language)


def _reading(req: _Request, command: Command | None, text: str) -> _Effect | None:
    """A meter reading ("<account> <reading>", seed 003), when the text is shaped like
    one and is no keyword command, or the phone is verified for the account it names
    (then "123456789 123" is a reading, not a 12-digit client number)."""
    shaped = parse_sms(text)
    if shaped is None or (command is not None and not verified_for(req.conn, req.phone, shaped)):
        return None
    known = _phone_contacts(req.conn, req.phone)
    language = known[0][2] if known else phone_language(req.phone)
    intake = Intake("sms", shaped.identifier, shaped.values, text, req.phone, language)
    result = submit_reading(req.conn, intake, now=req.now)
    outcome = f"reading {'accepted' if result.accepted else f'refused: {result.reason}'}"
    return _Effect(outcome, Reply.HELP, result.language, result.contact_id, reading=result)


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
    signups_per_phone: int = SIGNUPS_PER_PHONE,
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
        request = _Request(conn, phone, now, f"SMS {text[:60]!r} from {phone}", signups_per_phone)
        effect = _reading(request, command, text) or _apply(request, command)
        reading = effect.reading
        if reading is not None:
            command = None
        reply = None
        if _may_reply(conn, phone, now, limits, help_text=command is None and reading is None):
            if reading is not None:
                reply = reading.reply
            else:
                reply = effect.text or reply_text(
                    effect.reply,
                    effect.language,
                    command.identifier if command else None,
                    phone=effect.helpline,
                    limit=signups_per_phone,
                )
        inbound_id = conn.execute(
            insert(inbound_message).returning(inbound_message.c.id),
            {
                "received_at": now,
                "channel": "sms",
                "sender": phone,
                "receiver": receiver,
                "text": text,
                "gateway_id": gateway_id or None,
                "command": str(command.intent) if command else ("reading" if reading else None),
                "identifier": command.identifier if command else None,
                "outcome": effect.outcome if reply else f"{effect.outcome}; reply withheld",
                "replied": reply is not None,
            },
        ).scalar_one()
        if reading is not None:
            link_inbound(conn, reading.reading_id, inbound_id)
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
