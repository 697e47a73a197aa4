"""Fan-out: a due notice becomes one message per (notice, contact).

The notice row is claimed like a message (`scheduled → fanning_out` under a
lease), so exactly one process builds its messages; the unique key
(notice, contact) makes a repeated fan-out a no-op all the same. The
affected subscribers are resolved *now* (opt-outs at this moment win),
streamed, and each subscriber gets one text per channel listing all their
affected addresses. Identical texts are rendered once. Amendment and
cancellation notices go only to contacts an earlier notice of the outage
reached or may have reached (`TOLD_STATES`), and only while still opted in.

The claim is one conditional UPDATE whose WHERE carries the status and
lease condition on the notice row itself, so on PostgreSQL a second claimer
blocked behind the first re-checks it on the committed row and finds it
taken (SQLite serializes writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import ColumnElement, Connection, Engine, and_, exists, or_, select, update

from dispatch_tui.domain import templates
from dispatch_tui.storage.affected import AffectedSubscriber, iter_affected_subscribers
from dispatch_tui.storage.db import db_value, insert_rows, write_transaction
from dispatch_tui.storage.outages import FOLLOW_UP_KINDS, get_outage, sendable_notice_ids
from dispatch_tui.storage.tables import contact, message, notice, outage, utility

BATCH = 2000
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


def _batches(stream: Iterator[AffectedSubscriber]) -> Iterator[list[AffectedSubscriber]]:
    batch: list[AffectedSubscriber] = []
    for item in stream:
        batch.append(item)
        if len(batch) >= BATCH:
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
)


def fan_out(
    engine: Engine,
    notice_id: int,
    *,
    owner: str,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
    max_sms_segments: int = 3,
) -> FanoutResult | None:
    """Build the messages of one due notice; None when it was not ours to build."""
    now = now or datetime.now(UTC)
    if not claim_notice(engine, notice_id, owner=owner, now=now, lease=lease):
        return None
    with engine.connect() as reader:
        kind, channels, outage_id, previous_start, previous_end = reader.execute(
            select(
                notice.c.kind,
                notice.c.channels,
                notice.c.outage_id,
                notice.c.previous_starts_at,
                notice.c.previous_ends_at,
            ).where(notice.c.id == notice_id)
        ).one()
        detail = get_outage(reader, outage_id)
        row = detail.row
        follow_up = kind in FOLLOW_UP_KINDS
        told = _told_contacts(reader, outage_id, notice_id) if follow_up else set()
        expires_at = row.ends_at if follow_up else row.starts_at
        stamp_now = db_value(reader, message.c.created_at, now)
        stamp_expires = db_value(reader, message.c.expires_at, expires_at)
        name, phone = reader.execute(
            select(utility.c.name, utility.c.contact_phone).where(utility.c.id == row.utility_id)
        ).one()

        @lru_cache(maxsize=4096)
        def text(
            language: str, channel: str, addresses: tuple[templates.Address, ...]
        ) -> tuple[str | None, str, int]:
            ctx = templates.NoticeContext(
                utility_name=name,
                contact_phone=phone,
                timezone=row.timezone,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                reason=row.reason,
                title=row.title,
                kind=kind,
                previous_starts_at=previous_start,
                previous_ends_at=previous_end,
                extra_text=row.texts.get(language, ""),
            )
            rendered = templates.render(
                ctx,
                addresses,
                language,
                channel,
                max_sms_segments=max_sms_segments,
                transliterate_sms=row.transliterate,
            )
            return rendered.subject, rendered.body, rendered.segments

        subscribers = messages = 0
        for batch in _batches(iter_affected_subscribers(reader, detail.selection)):
            by_id = {s.subscriber_id: s for s in batch}
            contacts = reader.execute(
                select(
                    contact.c.id, contact.c.subscriber_id, contact.c.channel, contact.c.address
                ).where(
                    contact.c.subscriber_id.in_(list(by_id)),
                    contact.c.consent == "opted_in",
                    contact.c.channel.in_(list(channels)),
                )
            ).all()
            rows: list[tuple[object, ...]] = []
            for contact_id, subscriber_id, channel, address in contacts:
                if follow_up and contact_id not in told:
                    continue
                who = by_id[subscriber_id]
                addresses = tuple(
                    templates.Address(a.settlement, a.street, a.house) for a in who.addresses
                )
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
            if rows:
                with write_transaction(engine) as conn:
                    insert_rows(
                        conn,
                        message,
                        MESSAGE_COLUMNS,
                        [(*r, stamp_now) for r in rows],
                        unless_conflict=("notice_id", "contact_id"),
                    )
            subscribers += len(batch)
            messages += len(rows)
    with write_transaction(engine) as conn:
        conn.execute(
            update(notice)
            .where(notice.c.id == notice_id, notice.c.lease_owner == owner)
            .values(status="done", lease_owner=None, lease_until=None)
        )
    return FanoutResult(notice_id, subscribers, messages)
