"""An unknown message before a short-notice outage is resent within its time, and
one whose resend would not come before the start is kept unknown and counted as
not resent (issue 15: "resent 15 minutes later, too late")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from dispatch_tui.storage import monitor, outbox
from dispatch_tui.storage.tables import contact, message, notice
from tests.factories import approved_outage

NOW = datetime.now(UTC).replace(microsecond=0)
LEASE = timedelta(seconds=60)
FIFTEEN = timedelta(minutes=15)


@pytest.fixture
def notice_id(engine: Engine, tmp_path: Path) -> int:
    oid = approved_outage(engine, tmp_path, starts_at=NOW + timedelta(days=9))
    with engine.begin() as conn:
        first = select(notice.c.id).where(notice.c.outage_id == oid).order_by(notice.c.id)
        found = int(conn.execute(first.limit(1)).scalar_one())
        # Due now, so the monitor lists it.
        conn.execute(update(notice).where(notice.c.id == found).values(due_at=NOW))
        return found


def add(engine: Engine, notice_id: int, expires_at: datetime, nth: int) -> int:
    with engine.begin() as conn:
        contact_id = conn.execute(select(contact.c.id).order_by(contact.c.id)).scalars().all()[nth]
        return int(
            conn.execute(
                insert(message).returning(message.c.id),
                {
                    "notice_id": notice_id,
                    "contact_id": contact_id,
                    "channel": "sms",
                    "address": "+38641123456",
                    "language": "sl",
                    "body": "Izklop",
                    "segments": 1,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": NOW - timedelta(seconds=1),
                    "expires_at": expires_at,
                    "created_at": NOW,
                },
            ).scalar_one()
        )


def claim(engine: Engine, at: datetime) -> set[int]:
    taken = outbox.claim_batch(
        engine,
        owner=f"e{at.timestamp()}",
        channels=["sms"],
        lease=LEASE,
        unknown_wait=FIFTEEN,
        now=at,
    )
    return {m.id for m in taken}


def test_the_wait_shrinks_before_the_start_and_stops_at_it(engine: Engine, notice_id: int) -> None:
    soon = add(engine, notice_id, NOW + timedelta(minutes=20), 0)
    too_soon = add(engine, notice_id, NOW + timedelta(minutes=2, seconds=30), 1)
    assert claim(engine, NOW) == {soon, too_soon}
    # The sender died; its leases run out and the next claim finds them unknown.
    reaped = NOW + timedelta(minutes=2)
    assert claim(engine, reaped) == set()
    with engine.connect() as conn:
        rows = dict(conn.execute(select(message.c.id, message.c.next_attempt_at)).all())
    # 18 minutes left: a quarter of them, not the flat 15 minutes (which would be after
    # the start); 30 seconds left: no resend fits before the start.
    assert rows[soon] == reaped + timedelta(minutes=4, seconds=30)
    assert rows[too_soon] == NOW + timedelta(minutes=2, seconds=30)
    with engine.connect() as conn:
        (progress,) = [n for n in monitor.progress(conn, now=reaped) if n.notice_id == notice_id]
        problems = {p.message_id: p for p in monitor.problems(conn, notice_id, now=reaped)}
    assert (progress.unknown, progress.unknown_not_resent) == (2, 1)
    assert problems[too_soon].reason.endswith(monitor.NOT_RESENT)
    assert problems[too_soon].next_attempt_at is None
    assert problems[soon].next_attempt_at == rows[soon]
    assert claim(engine, rows[soon] - timedelta(seconds=1)) == set()
    assert claim(engine, rows[soon]) == {soon}
    assert claim(engine, NOW + timedelta(minutes=2, seconds=29)) == set()
