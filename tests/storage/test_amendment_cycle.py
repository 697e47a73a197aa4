"""An amendment cycle in which each contact receives exactly what the plan says
(issue 11, hole 2): a short-notice outage approved, amended and re-approved
sent everyone the amendment and, in the same second, a fresh "planned
outage" notice. Now those told get the amendment only, and someone who
signed up in between gets the ordinary first notice only."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select

from dispatch_tui.storage import fanout, outage_lifecycle, outbox
from dispatch_tui.storage.tables import contact, message, notice, subscriber, subscription
from dispatch_tui.storage.tables import metering_point as mp
from tests.factories import approved_outage


def _send_everything_due(engine: Engine, now: datetime) -> None:
    with engine.connect() as conn:
        due = conn.scalars(
            select(notice.c.id).where(notice.c.status == "scheduled", notice.c.due_at <= now)
        ).all()
    for nid in due:
        assert fanout.fan_out(engine, nid, owner="t", now=now) is not None
    claimed = outbox.claim_batch(engine, owner="t", channels=["sms"], limit=1000, now=now)
    outbox.record_results(
        engine, owner="t", results=[outbox.Result(m.id, "sent") for m in claimed], now=now
    )


def _received(engine: Engine, revision: int) -> Counter[tuple[int, str]]:
    """(contact, notice kind) of messages sent for notices of one revision."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(message.c.contact_id, notice.c.kind)
            .join(notice, notice.c.id == message.c.notice_id)
            .where(notice.c.outage_revision == revision, message.c.status == "sent")
        ).all()
    return Counter((r.contact_id, r.kind) for r in rows)


def test_a_re_approved_amendment_sends_one_message_per_person(
    engine: Engine, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    # Urgent: its notices are due at approval whatever the hour (quiet hours would move
    # them to the morning when the suite runs in the evening).
    oid = approved_outage(engine, tmp_path, starts_at=start, urgent=True)
    now = datetime.now(UTC)
    _send_everything_due(engine, now)
    first = _received(engine, 1)
    told = {c for c, _kind in first}
    assert told and set(first.values()) == {1}
    assert {kind for _c, kind in first} == {"immediate"}

    # Someone signs up for an affected metering point after the first notice.
    with engine.begin() as conn:
        mp_id = conn.execute(select(mp.c.id).where(mp.c.mp_id == "6-100001")).scalar_one()
        sid = conn.execute(
            insert(subscriber).returning(subscriber.c.id),
            {
                "utility_id": conn.execute(
                    select(mp.c.utility_id).where(mp.c.id == mp_id)
                ).scalar_one(),
                "account": "100999",
                "name": "Nova Naročnica",
                "language": "sl",
                "created_at": now,
            },
        ).scalar_one()
        conn.execute(
            insert(subscription), {"subscriber_id": sid, "mp_id": mp_id, "created_at": now}
        )
        newcomer = conn.execute(
            insert(contact).returning(contact.c.id),
            {
                "subscriber_id": sid,
                "channel": "sms",
                "address": "+38641999888",
                "consent": "opted_in",
                "consent_at": now,
                "consent_source": "test",
            },
        ).scalar_one()

    outage_lifecycle.amend(
        engine, oid, start + timedelta(hours=2), start + timedelta(hours=5), actor="ana"
    )
    with engine.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid)
    outage_lifecycle.approve(engine, oid, actor="bohdan", warnings_seen=warnings)
    _send_everything_due(engine, datetime.now(UTC))

    second = _received(engine, 2)
    assert set(second.values()) == {1}, second
    per_contact = Counter(c for c, _kind in second)
    assert set(per_contact.values()) == {1}, "one event, one message per person"
    assert {(c, k) for c, k in second} == {
        *((c, "amendment") for c in told),
        (newcomer, "immediate"),
    }
