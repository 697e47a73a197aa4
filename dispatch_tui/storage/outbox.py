"""The outbox: claiming messages under a lease and recording what happened.

A claim is one short transaction (SQLite: `BEGIN IMMEDIATE` + `UPDATE …
RETURNING`; PostgreSQL: the same with `FOR UPDATE SKIP LOCKED`), so any
number of processes can send from one database and each message is handed
out once. A lease that ran out (its process died) is taken over. No
network call ever happens inside these transactions: the caller sends
between `claim_batch` and `record_results`.

Rule 1 is enforced here too, not only by whoever created the messages: a
message is claimable only while its outage is approved by someone other
than its author (and its last amender).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, insert, or_, select, update

from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.outages import sendable_outage_ids
from dispatch_tui.storage.tables import delivery_event, message, notice

FINAL_OR_WAITING = ("sent", "failed", "retry_wait", "unknown")


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    notice_id: int
    channel: str
    address: str
    body: str
    segments: int
    attempts: int
    expires_at: datetime


@dataclass(frozen=True)
class Result:
    """What became of one claimed message.

    `status` is "sent", "failed", "retry_wait" (with `next_attempt_at`) or
    "unknown" (the gateway may or may not have taken it).
    """

    message_id: int
    status: str
    gateway_ref: str | None = None
    reason: str = ""
    next_attempt_at: datetime | None = None


def claim_batch(
    engine: Engine,
    *,
    owner: str,
    channels: Sequence[str],
    limit: int = 200,
    lease: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
) -> list[ClaimedMessage]:
    """Lease up to `limit` due messages of `channels` to `owner`."""
    now = now or datetime.now(UTC)
    due = or_(
        and_(message.c.status.in_(("pending", "retry_wait")), message.c.next_attempt_at <= now),
        and_(message.c.status == "sending", message.c.lease_until < now),
    )
    candidates = (
        select(message.c.id)
        .where(
            due,
            message.c.channel.in_(list(channels)),
            message.c.expires_at > now,
            message.c.notice_id.in_(
                select(notice.c.id).where(notice.c.outage_id.in_(sendable_outage_ids()))
            ),
        )
        .order_by(message.c.next_attempt_at, message.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(message)
        .where(message.c.id.in_(candidates.scalar_subquery()))
        .values(
            status="sending",
            lease_owner=owner,
            lease_until=now + lease,
            attempts=message.c.attempts + 1,
        )
        .returning(
            message.c.id,
            message.c.notice_id,
            message.c.channel,
            message.c.address,
            message.c.body,
            message.c.segments,
            message.c.attempts,
            message.c.expires_at,
        )
    )
    with write_transaction(engine) as conn:
        rows = conn.execute(stmt).all()
    return sorted((ClaimedMessage(*row) for row in rows), key=lambda m: m.id)


def record_results(
    engine: Engine, *, owner: str, results: Sequence[Result], now: datetime | None = None
) -> int:
    """Store outcomes of messages this owner still holds; returns how many.

    A result for a message whose lease was taken over meanwhile is dropped:
    the other process owns it now, and its record wins.
    """
    if not results:
        return 0
    now = now or datetime.now(UTC)
    params = [
        {
            "b_id": r.message_id,
            "b_status": r.status,
            "b_ref": r.gateway_ref,
            "b_error": r.reason or None,
            "b_next": r.next_attempt_at or now,
            "b_sent": now if r.status == "sent" else None,
        }
        for r in results
    ]
    stmt = (
        update(message)
        .where(
            message.c.id == bindparam("b_id"),
            message.c.status == "sending",
            message.c.lease_owner == owner,
        )
        .values(
            status=bindparam("b_status"),
            gateway_ref=bindparam("b_ref"),
            last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_next"),
            sent_at=bindparam("b_sent"),
            lease_owner=None,
            lease_until=None,
        )
    )
    with write_transaction(engine) as conn:
        held = set(
            conn.scalars(
                select(message.c.id).where(
                    message.c.id.in_([r.message_id for r in results]),
                    message.c.status == "sending",
                    message.c.lease_owner == owner,
                )
            )
        )
        mine = [p for p in params if p["b_id"] in held]
        if mine:
            conn.execute(stmt, mine)
            conn.execute(
                insert(delivery_event),
                [
                    {
                        "message_id": p["b_id"],
                        "at": now,
                        "status": p["b_status"],
                        "detail": p["b_error"] or p["b_ref"] or "",
                    }
                    for p in mine
                ],
            )
    return len(mine)
