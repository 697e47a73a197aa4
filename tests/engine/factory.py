"""A ready outbox for engine tests: an approved outage whose notice has
`count` pending messages, one per contact, built with set-based inserts so
10,000 rows take a moment on either backend."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select

from dispatch_tui.storage import audit
from dispatch_tui.storage.tables import (
    contact,
    message,
    notice,
    outage,
    role_change,
    subscriber,
    utility,
)

_codes = itertools.count(1)


def approved_notice(
    conn: Connection,
    utility_id: int,
    channels: list[str],
    *,
    starts_in: timedelta,
    hours: int,
    notice_status: str,
    now: datetime,
) -> tuple[int, int]:
    """An outage approved by someone other than its author, written directly
    (no lifecycle), and one advance notice due now: (outage id, notice id).
    The approver held the shift-lead role since the day before, and the approval is
    in the audit log (the send path checks both)."""
    conn.execute(
        insert(role_change),
        {
            "username": "bohdan",
            "role": "shift_lead",
            "changed_at": now - timedelta(days=1),
            "changed_by": "test",
        },
    )
    oid = conn.execute(
        insert(outage).returning(outage.c.id),
        {
            "utility_id": utility_id,
            "title": "test",
            "reason": "planned maintenance",
            "starts_at": now + starts_in,
            "ends_at": now + starts_in + timedelta(hours=hours),
            "status": "approved",
            "channels": channels,
            "plan": {},
            "texts": {},
            "created_by": "ana",
            "approved_by": "bohdan",
            "created_at": now,
            "updated_at": now,
            "approved_at": now,
        },
    ).scalar_one()
    audit.append(
        conn,
        actor="bohdan",
        action="approve",
        entity="outage",
        entity_id=oid,
        detail={"title": "test", "revision": 1},
    )
    nid = conn.execute(
        insert(notice).returning(notice.c.id),
        {
            "outage_id": oid,
            "kind": "advance",
            "channels": channels,
            "due_at": now,
            "status": notice_status,
            "outage_revision": 1,
            "created_at": now,
        },
    ).scalar_one()
    return int(oid), int(nid)


def make_outbox(
    engine: Engine,
    count: int,
    *,
    channel: str = "sms",
    starts_in: timedelta = timedelta(days=3),
    body: str = "Načrtovan izklop {i}",
) -> int:
    """Returns the notice id; message bodies carry their index."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        uid = conn.execute(
            insert(utility).returning(utility.c.id),
            {
                "code": f"T{next(_codes)}",
                "name": "Elektro Test",
                "country": "SI",
                "timezone": "Europe/Ljubljana",
                "language": "sl",
                "contact_phone": "080 21 00",
                "sms_sender": "ELEKTRO",
            },
        ).scalar_one()
        conn.execute(
            insert(subscriber),
            [
                {"utility_id": uid, "account": f"{i:08d}", "language": "sl", "created_at": now}
                for i in range(count)
            ],
        )
        subscribers = conn.execute(
            select(subscriber.c.id).where(subscriber.c.utility_id == uid).order_by(subscriber.c.id)
        ).scalars()
        conn.execute(
            insert(contact),
            [
                {
                    "subscriber_id": sid,
                    "channel": channel,
                    "address": {"sms": f"+3864{i:07d}", "email": f"s{i}@example.si"}.get(
                        channel, f"{i:09d}"
                    ),
                    "consent": "opted_in",
                    "consent_at": now,
                    "consent_source": "test",
                }
                for i, sid in enumerate(subscribers)
            ],
        )
        _, nid = approved_notice(
            conn, uid, [channel], starts_in=starts_in, hours=2, notice_status="done", now=now
        )
        contacts = conn.execute(
            select(contact.c.id, contact.c.address)
            .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
            .where(subscriber.c.utility_id == uid)
            .order_by(contact.c.id)
        ).all()
        conn.execute(
            insert(message),
            [
                {
                    "notice_id": nid,
                    "contact_id": cid,
                    "channel": channel,
                    "address": address,
                    "language": "sl",
                    "subject": "Izklop" if channel == "email" else None,
                    "body": body.format(i=i),
                    "segments": 1,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now - timedelta(seconds=1),
                    "expires_at": now + starts_in,
                    "created_at": now,
                }
                for i, (cid, address) in enumerate(contacts)
            ],
        )
    return int(nid)


def message_states(engine: Engine, notice_id: int | None = None) -> dict[str, int]:
    query = select(message.c.status, func.count()).group_by(message.c.status)
    if notice_id is not None:
        query = query.where(message.c.notice_id == notice_id)
    with engine.connect() as conn:
        return {status: count for status, count in conn.execute(query)}
