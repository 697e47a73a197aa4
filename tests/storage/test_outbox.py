"""Outbox claims: leases, takeover, rule 1, and many claimers on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from dispatch_tui.storage import outbox
from dispatch_tui.storage.tables import (
    channel_control,
    contact,
    delivery_event,
    message,
    notice,
    outage,
)
from tests.factories import approved_outage

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def approved(engine: Engine, tmp_path: Path) -> int:
    """An approved outage with one notice; returns the notice id."""
    oid = approved_outage(engine, tmp_path, starts_at=NOW + timedelta(days=9))
    with engine.connect() as conn:
        return int(
            conn.execute(select(notice.c.id).where(notice.c.outage_id == oid)).scalars().first()
        )


def add_messages(engine: Engine, notice_id: int, count: int) -> None:
    with engine.begin() as conn:
        contact_id = conn.execute(select(contact.c.id)).scalars().first()
        new_notices = [
            conn.execute(
                insert(notice).returning(notice.c.id),
                {
                    "outage_id": conn.execute(
                        select(notice.c.outage_id).where(notice.c.id == notice_id)
                    ).scalar_one(),
                    "kind": "advance",
                    "channels": ["sms"],
                    "due_at": NOW,
                    "status": "done",
                    "outage_revision": 1,
                    "created_at": NOW,
                },
            ).scalar_one()
            for _ in range(count)
        ]
        conn.execute(
            insert(message),
            [
                {
                    "notice_id": n,
                    "contact_id": contact_id,
                    "channel": "sms",
                    "address": "+38641123456",
                    "language": "sl",
                    "body": f"m{i}",
                    "segments": 1,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": NOW - timedelta(seconds=1),
                    "expires_at": NOW + timedelta(days=9),
                    "created_at": NOW,
                }
                for i, n in enumerate(new_notices)
            ],
        )


def test_claims_are_disjoint_and_dead_leases_become_unknown(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 5)
    first = outbox.claim_batch(engine, owner="a", channels=["sms"], limit=3, now=NOW)
    second = outbox.claim_batch(engine, owner="b", channels=["sms"], limit=3, now=NOW)
    assert len(first) == 3 and len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}
    assert outbox.claim_batch(engine, owner="c", channels=["email"], now=NOW) == []
    later = NOW + timedelta(minutes=5)
    wait = timedelta(minutes=15)
    # a and b stopped renewing: their messages may have gone out, so they are not resent yet.
    assert (
        outbox.claim_batch(engine, owner="c", channels=["sms"], now=later, unknown_wait=wait) == []
    )
    assert states(engine) == {"unknown": 5}
    # a was only slow: its late answer is the one nobody had, and it is kept.
    late = [outbox.Result(m.id, "sent", "ref-a") for m in first]
    assert outbox.record_results(engine, owner="a", results=late, now=later) == 3
    resend_at = later + wait + timedelta(seconds=1)
    taken = outbox.claim_batch(engine, owner="c", channels=["sms"], now=resend_at)
    assert {m.id for m in taken} == {m.id for m in second}
    assert {m.previous_status for m in taken} == {"unknown"}
    stale = [outbox.Result(m.id, "sent", "ref-b") for m in second]
    assert outbox.record_results(engine, owner="b", results=stale, now=resend_at) == 0
    done = [outbox.Result(m.id, "sent", f"ref-{m.id}") for m in taken]
    assert outbox.record_results(engine, owner="c", results=done, now=resend_at) == 2
    assert states(engine) == {"sent": 5}
    with engine.connect() as conn:
        resends = conn.execute(
            select(func.count()).where(delivery_event.c.status == "resend")
        ).scalar_one()
    assert resends == 2


def states(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(message.c.status, func.count()).group_by(message.c.status))
        return {status: count for status, count in rows}


def test_a_slow_sender_renews_its_leases(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 2)
    outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW)
    later = NOW + timedelta(seconds=50)
    assert outbox.extend_leases(engine, owner="a", lease=timedelta(seconds=60), now=later) == 2
    assert (
        outbox.claim_batch(engine, owner="b", channels=["sms"], now=NOW + timedelta(seconds=90))
        == []
    )
    assert states(engine) == {"sending": 2}


def test_paused_channels_are_not_claimed(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 2)
    with engine.begin() as conn:
        conn.execute(
            insert(channel_control).values(
                channel="sms", paused=True, changed_by="bohdan", changed_at=NOW
            )
        )
    assert outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW) == []
    with engine.begin() as conn:
        conn.execute(update(channel_control).values(paused=False))
    assert len(outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW)) == 2


def test_messages_expire_at_the_outage_start(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 3)
    [one] = outbox.claim_batch(engine, owner="a", channels=["sms"], limit=1, now=NOW)
    outbox.record_results(engine, owner="a", results=[outbox.Result(one.id, "unknown")], now=NOW)
    assert outbox.expire_due(engine, now=NOW + timedelta(days=10)) == 2
    assert states(engine) == {"expired": 2, "unknown": 1}


def test_delivery_reports_are_idempotent_and_never_undo_delivered(
    engine: Engine, approved: int
) -> None:
    add_messages(engine, approved, 1)
    [m] = outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW)
    # The report can beat the sender's own record of the send.
    assert outbox.apply_report(engine, m.id, "delivered", "1", now=NOW)
    assert outbox.record_results(engine, owner="a", results=[outbox.Result(m.id, "sent")]) == 0
    assert outbox.apply_report(engine, m.id, "delivered", "1", now=NOW)
    assert outbox.apply_report(engine, m.id, "failed", "2", now=NOW)
    assert outbox.apply_report(engine, m.id, "sent", "8", now=NOW)
    assert states(engine) == {"delivered": 1}
    with engine.connect() as conn:
        events = (
            conn.execute(select(delivery_event.c.status).where(delivery_event.c.message_id == m.id))
            .scalars()
            .all()
        )
    assert events == ["delivered"]
    assert not outbox.apply_report(engine, 999_999, "delivered", now=NOW)
    with pytest.raises(ValueError, match="not a delivery report state"):
        outbox.apply_report(engine, m.id, "read", now=NOW)


def test_a_report_settles_an_unknown_outcome(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 1)
    [m] = outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW)
    unknown = outbox.Result(m.id, "unknown", next_attempt_at=NOW + timedelta(minutes=15))
    outbox.record_results(engine, owner="a", results=[unknown], now=NOW)
    assert outbox.apply_report(engine, m.id, "sent", "8", now=NOW)
    assert states(engine) == {"sent": 1}
    later = NOW + timedelta(hours=1)
    assert outbox.claim_batch(engine, owner="b", channels=["sms"], now=later) == []


def test_nothing_is_claimed_for_an_outage_that_is_not_approved(
    engine: Engine, approved: int
) -> None:
    add_messages(engine, approved, 2)
    with engine.begin() as conn:
        conn.execute(update(outage).values(status="submitted", approved_by=None))
    assert outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW) == []


def test_expired_messages_are_not_claimed(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 2)
    assert (
        outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW + timedelta(days=10)) == []
    )


def test_concurrent_claimers_get_each_message_once(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 300)
    got: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            batch = outbox.claim_batch(engine, owner=name, channels=["sms"], limit=17, now=NOW)
            if not batch:
                return
            outbox.record_results(
                engine, owner=name, results=[outbox.Result(m.id, "sent") for m in batch], now=NOW
            )
            with lock:
                got.extend(m.id for m in batch)

    threads = [threading.Thread(target=worker, args=(f"p{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(got) == 300 == len(set(got))
