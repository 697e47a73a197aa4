"""The subscribers screen's questions: who is this caller, how do we reach
them, what did we send them; and the customer's opt-out by phone.

Finding works the way a caller identifies themselves: customer number,
phone, e-mail, or an address (through the metering-point search). Phones
are stored in E.164, so a number is first read as dialled in each utility's
country and looked up exactly (index); only when nothing at all matched do
the last digits (at least six) get compared, which scans phone contacts.

A customer whose account took too many wrong proofs (bot or SMS) is locked
out of self-service; the detail shows it, and an operator who has the caller
on the line may lift it (role-checked and audited like an opt-out).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select, update

from dispatch_tui.domain.bot_dialogue import PROOF_WINDOW
from dispatch_tui.domain.identifiers import InvalidIdentifier, parse_phone
from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit, consent
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.search import search_metering_points
from dispatch_tui.storage.tables import (
    contact,
    contact_scope,
    message,
    metering_point,
    notice,
    outage,
    proof_failure,
    subscriber,
    subscription,
    utility,
)
from dispatch_tui.storage.users import refusal_for

HISTORY = 50
PHONE_CHANNELS = ("sms", "viber")
MIN_SUFFIX = 6
PHONE_LIKE = re.compile(r"\+?[0-9 ()/.-]{6,}")


class SubscriberError(Exception):
    """A request on a subscriber was refused; `str()` says why."""


@dataclass(frozen=True)
class SubscriberHit:
    id: int
    utility: str
    account: str
    name: str
    language: str
    matched_on: str
    address: str = ""


@dataclass(frozen=True)
class ContactRow:
    id: int
    channel: str
    address: str
    consent: str
    consent_at: datetime
    consent_source: str
    proven: bool = True
    """False: signed up by id alone; notices name metering points, not streets."""
    scope: tuple[str, ...] = ()
    """The metering points it is about; empty: all of the subscriber's."""


@dataclass(frozen=True)
class SelfServiceLock:
    locked_at: datetime
    wrong_proofs: int
    """Wrong proofs in the day before the lock, over every chat and phone."""


@dataclass(frozen=True)
class HistoryRow:
    created_at: datetime
    channel: str
    address: str
    status: str
    kind: str
    outage: str
    error: str


@dataclass(frozen=True)
class SubscriberDetail:
    hit: SubscriberHit
    contacts: list[ContactRow]
    addresses: list[str]
    history: list[HistoryRow]
    lock: SelfServiceLock | None = None


def _hits(conn: Connection, where: object, label: str, limit: int) -> list[SubscriberHit]:
    rows = conn.execute(
        select(
            subscriber.c.id,
            utility.c.code,
            subscriber.c.account,
            subscriber.c.name,
            subscriber.c.language,
        )
        .join(utility, utility.c.id == subscriber.c.utility_id)
        .where(where)  # type: ignore[arg-type]
        .order_by(subscriber.c.account)
        .limit(limit)
    )
    return [SubscriberHit(*r, matched_on=label) for r in rows]


def _with_addresses(conn: Connection, hits: Iterable[SubscriberHit]) -> list[SubscriberHit]:
    """Each hit with its first place, so a caller can confirm where they live."""
    hits = list(hits)
    first: dict[int, str] = {}
    if hits:
        rows = conn.execute(
            select(
                subscription.c.subscriber_id,
                metering_point.c.street,
                metering_point.c.house,
                metering_point.c.settlement,
            )
            .join(metering_point, metering_point.c.id == subscription.c.mp_id)
            .where(subscription.c.subscriber_id.in_([h.id for h in hits]))
            .order_by(subscription.c.subscriber_id, metering_point.c.mp_id)
        )
        for sid, street, house, settlement in rows:
            first.setdefault(sid, f"{street} {house}, {settlement}")
    return [replace(h, address=first.get(h.id, "")) for h in hits]


def phone_forms(conn: Connection, text: str) -> set[str]:
    """The E.164 numbers `text` can mean, read as dialled in each utility's country."""
    countries = conn.execute(select(utility.c.country).distinct()).scalars()
    forms: set[str] = set()
    for country in countries:
        try:
            forms.add(parse_phone(text, country))
        except InvalidIdentifier:
            continue
    return forms


def find_subscribers(conn: Connection, text: str, *, limit: int = 50) -> list[SubscriberHit]:
    """Subscribers matching a customer number, phone, e-mail or address."""
    text = " ".join(text.split())
    if not text:
        return []
    found: dict[int, SubscriberHit] = {}

    def add(hits: list[SubscriberHit]) -> None:
        for hit in hits:
            found.setdefault(hit.id, hit)

    def owning(*conditions: object) -> object:
        owners = select(contact.c.subscriber_id).where(*conditions)  # type: ignore[arg-type]
        return subscriber.c.id.in_(owners)

    compact = text.replace(" ", "")
    if "@" in text:
        add(
            _hits(
                conn,
                owning(contact.c.channel == "email", func.lower(contact.c.address) == text.lower()),
                "e-mail",
                limit,
            )
        )
    phone_like = PHONE_LIKE.fullmatch(text) is not None
    if phone_like:
        forms = phone_forms(conn, text)
        if forms:
            where = owning(contact.c.channel.in_(PHONE_CHANNELS), contact.c.address.in_(forms))
            add(_hits(conn, where, "phone", limit))
    if compact.isdigit():
        upper = compact + "\uffff"
        add(
            _hits(
                conn,
                (subscriber.c.account >= compact) & (subscriber.c.account < upper),
                "customer number",
                limit,
            )
        )
    digits = re.sub(r"[^0-9]", "", text)
    if not found and phone_like and len(digits) >= MIN_SUFFIX:
        # A partial or oddly spelled number: compare the tail (scans phone contacts).
        where = owning(contact.c.channel.in_(PHONE_CHANNELS), contact.c.address.endswith(digits))
        add(_hits(conn, where, "phone (last digits)", limit))
    if len(found) < limit and not compact.isdigit() and "@" not in text:
        mps = [hit.id for hit in search_metering_points(conn, text, limit=limit)]
        if mps:
            owners = select(subscription.c.subscriber_id).where(subscription.c.mp_id.in_(mps))
            add(_hits(conn, subscriber.c.id.in_(owners), "address", limit))
    return _with_addresses(conn, list(found.values())[:limit])


def subscriber_detail(conn: Connection, subscriber_id: int) -> SubscriberDetail:
    """Everything the operator needs while the caller is on the line, newest messages first."""
    hits = _hits(conn, subscriber.c.id == subscriber_id, "", 1)
    if not hits:
        raise SubscriberError(f"subscriber {subscriber_id} does not exist")
    [hit] = _with_addresses(conn, hits)
    scopes: dict[int, list[str]] = {}
    for contact_id, mp_code in conn.execute(
        select(contact_scope.c.contact_id, metering_point.c.mp_id)
        .join(contact, contact.c.id == contact_scope.c.contact_id)
        .join(metering_point, metering_point.c.id == contact_scope.c.mp_id)
        .where(contact.c.subscriber_id == subscriber_id)
        .order_by(metering_point.c.mp_id)
    ):
        scopes.setdefault(contact_id, []).append(mp_code)
    contacts = [
        ContactRow(*r, scope=tuple(scopes.get(r.id, ())))
        for r in conn.execute(
            select(
                contact.c.id,
                contact.c.channel,
                contact.c.address,
                contact.c.consent,
                contact.c.consent_at,
                contact.c.consent_source,
                contact.c.proven,
            )
            .where(contact.c.subscriber_id == subscriber_id)
            .order_by(contact.c.channel, contact.c.address)
        )
    ]
    addresses = [
        f"{r.mp_id}: {r.street} {r.house}, {r.settlement}"
        for r in conn.execute(
            select(
                metering_point.c.mp_id,
                metering_point.c.street,
                metering_point.c.house,
                metering_point.c.settlement,
            )
            .join(subscription, subscription.c.mp_id == metering_point.c.id)
            .where(subscription.c.subscriber_id == subscriber_id)
            .order_by(metering_point.c.mp_id)
        )
    ]
    history = [
        HistoryRow(
            r.created_at,
            r.channel,
            r.address,
            r.status,
            r.kind or "reply",
            r.title or "",
            r.last_error or "",
        )
        for r in conn.execute(
            select(
                message.c.created_at,
                message.c.channel,
                message.c.address,
                message.c.status,
                notice.c.kind,
                outage.c.title,
                message.c.last_error,
            )
            .join(notice, notice.c.id == message.c.notice_id, isouter=True)
            .join(outage, outage.c.id == notice.c.outage_id, isouter=True)
            .where(
                message.c.contact_id.in_(
                    select(contact.c.id).where(contact.c.subscriber_id == subscriber_id)
                )
            )
            .order_by(message.c.created_at.desc(), message.c.id.desc())
            .limit(HISTORY)
        )
    ]
    return SubscriberDetail(hit, contacts, addresses, history, _lock(conn, subscriber_id))


def _lock(conn: Connection, subscriber_id: int) -> SelfServiceLock | None:
    row = conn.execute(
        select(subscriber.c.account, subscriber.c.self_service_locked_at).where(
            subscriber.c.id == subscriber_id
        )
    ).one()
    if row.self_service_locked_at is None:
        return None
    wrong = conn.execute(
        select(func.count()).where(
            proof_failure.c.account == row.account,
            proof_failure.c.at > row.self_service_locked_at - PROOF_WINDOW,
            proof_failure.c.at <= row.self_service_locked_at,
        )
    ).scalar_one()
    return SelfServiceLock(row.self_service_locked_at, int(wrong))


def lift_self_service_lock(
    engine: Engine, subscriber_id: int, *, actor: str, reason: str, now: datetime | None = None
) -> None:
    """The caller proved who they are to the operator: the bot and SMS proofs
    work again for their account, with the wrong proofs so far forgiven.

    Role-checked like an opt-out (Action.CANCEL, the subscriber action a
    dispatcher may do and a viewer may not) and audited with the reason. The
    lock is on the account number (that is what proofs name), so every
    subscriber row with it is unlocked.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise SubscriberError("say why: lifting a lock is recorded with a reason")
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        refusal = refusal_for(conn, actor, Action.CANCEL)
        if refusal:
            raise SubscriberError(refusal)
        row = conn.execute(
            select(subscriber.c.account, subscriber.c.self_service_locked_at).where(
                subscriber.c.id == subscriber_id
            )
        ).first()
        if row is None:
            raise SubscriberError(f"subscriber {subscriber_id} does not exist")
        if row.self_service_locked_at is None:
            raise SubscriberError(f"self-service for {row.account} is not locked")
        conn.execute(
            update(subscriber)
            .where(subscriber.c.account == row.account)
            .values(self_service_locked_at=None, self_service_unlocked_at=now)
        )
        audit.append(
            conn,
            actor=actor,
            action="lift_self_service_lock",
            entity="subscriber",
            entity_id=subscriber_id,
            detail={
                "account": row.account,
                "locked_at": row.self_service_locked_at.isoformat(),
                "reason": reason,
            },
            at=now,
        )


def record_opt_out(
    engine: Engine, contact_id: int, *, actor: str, reason: str, now: datetime | None = None
) -> None:
    """The customer asked (by phone, at the desk) to get no more notices here.

    No action is specific to consent; cancelling messages is the closest and
    is what a dispatcher may do and a viewer may not (Action.CANCEL). The
    consent, its source and the audit entry change in one transaction, and
    what still waits for this contact is cancelled (opt-out wins).
    """
    reason = " ".join(reason.split())
    if not reason:
        raise SubscriberError("say why: the customer's request is recorded with a reason")
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        refusal = refusal_for(conn, actor, Action.CANCEL)
        if refusal:
            raise SubscriberError(refusal)
        row = conn.execute(
            select(contact.c.consent, contact.c.channel, contact.c.address).where(
                contact.c.id == contact_id
            )
        ).first()
        if row is None:
            raise SubscriberError(f"contact {contact_id} does not exist")
        if row.consent == "opted_out":
            raise SubscriberError(f"{row.channel} {row.address} has already opted out")
        cancelled = consent.opt_out(
            conn, [contact_id], now=now, source=f"operator {actor}: {reason}"
        )
        audit.append(
            conn,
            actor=actor,
            action="opt_out",
            entity="contact",
            entity_id=contact_id,
            detail={"channel": row.channel, "reason": reason, "cancelled": cancelled},
            at=now,
        )
