"""Fan-out: a due notice becomes one message per (notice, contact).

The notice row is claimed like a message (`scheduled → fanning_out` under a
lease), so exactly one process builds its messages; the unique key
(notice, contact) makes a repeated fan-out a no-op all the same. The
affected subscribers are resolved *now* (opt-outs at this moment win),
streamed, and each subscriber gets one text per channel listing all their
affected addresses. Identical texts are rendered once. Each notice carries
its audience (`domain.transition_notices`): amendment and cancellation
notices go only to contacts an earlier notice of the outage reached or may
have reached (`TOLD_STATES`); a re-approved revision's notice of a kind
those told already had goes only to the others; always only while opted in.

The claim is one conditional UPDATE whose WHERE carries the status and
lease condition on the notice row itself, so on PostgreSQL a second claimer
blocked behind the first re-checks it on the committed row and finds it
taken (SQLite serializes writers with BEGIN IMMEDIATE). Every write of a
fan-out renews its lease in the same transaction and only if the notice is
still ours (same owner, same lease we last wrote): a long fan-out keeps its
notice, and one whose lease ran out and was taken over stops instead of
working on beside the new owner.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import cast

from sqlalchemy import ColumnElement, Connection, Engine, and_, exists, or_, select, update

from dispatch_tui.domain import templates
from dispatch_tui.domain.transition_notices import Audience
from dispatch_tui.storage import unsubscribe
from dispatch_tui.storage.affected import AffectedSubscriber, iter_affected_subscribers
from dispatch_tui.storage.build_lease import BuildLease, LeaseLost
from dispatch_tui.storage.db import among, db_value, insert_rows, write_transaction
from dispatch_tui.storage.outages import (
    FOLLOW_UP_KINDS,
    get_outage,
    notice_context,
    notice_sender,
    sendable_notice_ids,
)
from dispatch_tui.storage.tables import (
    contact,
    contact_scope,
    message,
    metering_point,
    notice,
    outage,
)

log = logging.getLogger(__name__)

BATCH = 2000
NOTICE_LEASE = timedelta(minutes=5)
"""How long a fan-out holds its notice without writing; every batch renews it."""
TOLD_STATES = ("sending", "sent", "delivered", "unknown")
"""Message states after which the recipient may know of the outage."""


@dataclass(frozen=True)
class FanoutResult:
    notice_id: int
    subscribers: int
    messages: int


def _not_missed(now: datetime) -> ColumnElement[bool]:
    """A timed notice is worth sending until the outage starts, a follow-up
    until it ends; after that the notice is missed, never sent late."""
    return or_(
        and_(notice.c.kind.not_in(FOLLOW_UP_KINDS), outage.c.starts_at > now),
        and_(notice.c.kind.in_(FOLLOW_UP_KINDS), outage.c.ends_at > now),
    )


def claim_notice(
    engine: Engine, notice_id: int, *, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Take a due notice for fan-out; False if someone else has it or it is not due.

    The status and lease condition sit on the updated row itself, not in a
    subquery: PostgreSQL (READ COMMITTED) re-evaluates them on the row
    version it locked, so of several engines claiming at once one wins."""
    with write_transaction(engine) as conn:
        taken = conn.execute(
            update(notice)
            .where(
                notice.c.id == notice_id,
                or_(
                    and_(notice.c.status.in_(("scheduled", "due")), notice.c.due_at <= now),
                    and_(notice.c.status == "fanning_out", notice.c.lease_until < now),
                ),
                notice.c.id.in_(sendable_notice_ids()),
                exists().where(outage.c.id == notice.c.outage_id, _not_missed(now)),
            )
            .values(status="fanning_out", lease_owner=owner, lease_until=now + lease)
        ).rowcount
    return bool(taken)


def skip_missed(engine: Engine, *, now: datetime) -> int:
    """Mark notices whose moment has passed (the outage started, or ended for
    follow-ups) as skipped, so a wake-up missed while nothing ran is never
    sent late; returns how many. It runs every few seconds, so it looks
    first and takes the (SQLite: database-wide) write lock only when needed."""
    missed = (
        select(notice.c.id)
        .join(outage, outage.c.id == notice.c.outage_id)
        .where(notice.c.status.in_(("scheduled", "due")), ~_not_missed(now))
    )
    with engine.connect() as reader:
        if reader.execute(missed.limit(1)).first() is None:
            return 0
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                update(notice)
                .where(notice.c.id.in_(missed.scalar_subquery()))
                .values(status="skipped")
            ).rowcount
        )


@dataclass(frozen=True)
class PendingNotice:
    id: int
    due_at: datetime


def pending_notices(conn: Connection) -> list[PendingNotice]:
    """Notices the scheduler should wake up for: not yet built (or whose
    builder's lease may run out), of outages that may send."""
    rows = conn.execute(
        select(notice.c.id, notice.c.due_at, notice.c.status, notice.c.lease_until)
        .where(
            notice.c.status.in_(("scheduled", "due", "fanning_out")),
            notice.c.id.in_(sendable_notice_ids()),
        )
        .order_by(notice.c.due_at, notice.c.id)
    ).all()
    return [
        PendingNotice(r.id, r.lease_until if r.status == "fanning_out" else r.due_at) for r in rows
    ]


def _told_contacts(conn: Connection, outage_id: int, notice_id: int) -> set[int]:
    """Contacts an earlier notice of this outage reached, or may have reached."""
    return set(
        conn.scalars(
            select(message.c.contact_id)
            .join(notice, notice.c.id == message.c.notice_id)
            .where(
                notice.c.outage_id == outage_id,
                notice.c.id != notice_id,
                message.c.status.in_(TOLD_STATES),
            )
        )
    )


def _scopes(conn: Connection, contact_ids: list[int]) -> dict[int, set[str]]:
    """Metering points each scoped contact signed up for (unscoped ones: the account)."""
    scopes: dict[int, set[str]] = {}
    if not contact_ids:
        return scopes
    rows = conn.execute(
        select(contact_scope.c.contact_id, metering_point.c.mp_id)
        .join(metering_point, metering_point.c.id == contact_scope.c.mp_id)
        .where(among(conn, contact_scope.c.contact_id, contact_ids))
    )
    for contact_id, mp_code in rows:
        scopes.setdefault(contact_id, set()).add(mp_code)
    return scopes


def _addresses(
    who: AffectedSubscriber, scope: set[str] | None, *, proven: bool
) -> tuple[templates.Address, ...]:
    """The places a contact is told about: only its own metering points if it
    signed up for some, and for a contact whose ownership was never proven the
    metering point and settlement, never the street address (issue 10)."""
    places = [a for a in who.addresses if scope is None or a.mp_id in scope]
    return tuple(
        templates.Address(a.settlement, a.street, a.house)
        if proven
        else templates.Address(a.settlement, "", a.mp_id)
        for a in places
    )


def _batches(stream: Iterator[AffectedSubscriber], size: int) -> Iterator[list[AffectedSubscriber]]:
    batch: list[AffectedSubscriber] = []
    for item in stream:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


MESSAGE_COLUMNS = (
    "notice_id",
    "contact_id",
    "channel",
    "address",
    "language",
    "subject",
    "body",
    "segments",
    "status",
    "attempts",
    "next_attempt_at",
    "expires_at",
    "created_at",
    "unsubscribe_url",
)


def _with_unsubscribe(
    conn: Connection,
    rows: list[tuple[object, ...]],
    stamp_now: object,
    base: str,
    now: datetime,
) -> list[tuple[object, ...]]:
    """The rows as inserted: e-mails get their contact's unsubscribe link (when the
    public web has a URL), in the body and for the List-Unsubscribe header."""
    if not base:
        return [(*r, stamp_now, None) for r in rows]
    # Row layout: MESSAGE_COLUMNS up to expires_at (contact 1, channel 2, language 4, body 6).
    tokens = unsubscribe.tokens_for(
        conn, [cast(int, r[1]) for r in rows if r[2] == "email"], now=now
    )
    out: list[tuple[object, ...]] = []
    for r in rows:
        if r[2] != "email":
            out.append((*r, stamp_now, None))
            continue
        url = unsubscribe.unsubscribe_url(base, tokens[cast(int, r[1])])
        body = templates.with_unsubscribe(str(r[6]), str(r[4]), url)
        out.append((*r[:6], body, *r[7:], stamp_now, url))
    return out


def fan_out(
    engine: Engine,
    notice_id: int,
    *,
    owner: str,
    now: datetime | None = None,
    lease: timedelta = NOTICE_LEASE,
    max_sms_segments: int = 3,
    batch_size: int = BATCH,
    unsubscribe_base: str = "",
) -> FanoutResult | None:
    """Build the messages of one due notice; None when it was not ours to
    build, or stopped being ours part-way (the new owner completes it).

    With `unsubscribe_base` (the public web's URL) every e-mail gets its
    contact's unsubscribe link (`storage.unsubscribe`), in its body and
    its `List-Unsubscribe` header."""
    now = now or datetime.now(UTC)
    if not claim_notice(engine, notice_id, owner=owner, now=now, lease=lease):
        return None
    log.info(
        "notice %d: fan-out started",
        notice_id,
        extra={"event": "notice_fan_out_started", "notice": notice_id},
    )
    held = BuildLease(
        engine, notice, notice_id, status="fanning_out", owner=owner, length=lease, now=now
    )
    try:
        return _build(
            engine,
            notice_id,
            held,
            now=now,
            max_sms_segments=max_sms_segments,
            batch=batch_size,
            unsubscribe_base=unsubscribe_base,
        )
    except LeaseLost as lost:
        log.warning("%s; stopped building", lost)
        return None


def _build(
    engine: Engine,
    notice_id: int,
    held: BuildLease,
    *,
    now: datetime,
    max_sms_segments: int,
    batch: int,
    unsubscribe_base: str,
) -> FanoutResult:
    with engine.connect() as reader:
        kind, channels, outage_id, previous_start, previous_end, audience = reader.execute(
            select(
                notice.c.kind,
                notice.c.channels,
                notice.c.outage_id,
                notice.c.previous_starts_at,
                notice.c.previous_ends_at,
                notice.c.audience,
            ).where(notice.c.id == notice_id)
        ).one()
        detail = get_outage(reader, outage_id)
        row = detail.row
        follow_up = kind in FOLLOW_UP_KINDS
        # Who this notice is for (domain.transition_notices): everyone affected, only
        # those an earlier notice reached, or only those none reached yet.
        audience = Audience.TOLD if follow_up else Audience(audience)
        told = set() if audience is Audience.ALL else _told_contacts(reader, outage_id, notice_id)
        expires_at = row.ends_at if follow_up else row.starts_at
        stamp_now = db_value(reader, message.c.created_at, now)
        stamp_expires = db_value(reader, message.c.expires_at, expires_at)
        sender = notice_sender(reader, row.utility_id)

        @lru_cache(maxsize=4096)
        def text(
            language: str, channel: str, addresses: tuple[templates.Address, ...]
        ) -> tuple[str | None, str, int]:
            ctx = notice_context(row, sender, language, kind, (previous_start, previous_end))
            rendered = templates.render(
                ctx,
                addresses,
                language,
                channel,
                max_sms_segments=max_sms_segments,
                transliterate_sms=row.transliterate_sms,
            )
            return rendered.subject, rendered.body, rendered.segments

        subscribers = messages = 0
        for group in _batches(iter_affected_subscribers(reader, detail.selection), batch):
            by_id = {s.subscriber_id: s for s in group}
            contacts = reader.execute(
                select(
                    contact.c.id,
                    contact.c.subscriber_id,
                    contact.c.channel,
                    contact.c.address,
                    contact.c.proven,
                ).where(
                    among(reader, contact.c.subscriber_id, list(by_id)),
                    contact.c.consent == "opted_in",
                    contact.c.channel.in_(list(channels)),
                )
            ).all()
            scopes = _scopes(reader, [c.id for c in contacts])
            rows: list[tuple[object, ...]] = []
            for contact_id, subscriber_id, channel, address, proven in contacts:
                if audience is not Audience.ALL and (contact_id in told) != (
                    audience is Audience.TOLD
                ):
                    continue
                who = by_id[subscriber_id]
                addresses = _addresses(who, scopes.get(contact_id), proven=proven)
                if not addresses:
                    continue
                subject, body, segments = text(who.language, channel, addresses)
                rows.append(
                    (
                        notice_id,
                        contact_id,
                        channel,
                        address,
                        who.language,
                        subject,
                        body,
                        segments,
                        "pending",
                        0,
                        stamp_now,
                        stamp_expires,
                    )
                )
            with held.write() as conn:
                if rows:
                    # Consent again, under the write: an opt-out committed since
                    # the reader's snapshot wins (on SQLite no opt-out can commit
                    # between this read and the insert).
                    still = set(
                        conn.scalars(
                            select(contact.c.id).where(
                                among(conn, contact.c.id, [r[1] for r in rows]),
                                contact.c.consent == "opted_in",
                            )
                        )
                    )
                    rows = [r for r in rows if r[1] in still]
                    insert_rows(
                        conn,
                        message,
                        MESSAGE_COLUMNS,
                        _with_unsubscribe(conn, rows, stamp_now, unsubscribe_base, now),
                        unless_conflict=("notice_id", "contact_id"),
                    )
            subscribers += len(group)
            messages += len(rows)
    with held.write() as conn:
        conn.execute(
            update(notice)
            .where(notice.c.id == notice_id)
            .values(status="done", lease_owner=None, lease_until=None)
        )
    return FanoutResult(notice_id, subscribers, messages)
