"""Outbox claims: leases, takeover, rules 1 and 6, bounded id lists, and many
claimers on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from dispatch_tui.storage import consent, outbox
from dispatch_tui.storage.tables import (
    channel_control,
    contact,
    delivery_event,
    inbound_message,
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
        first = select(notice.c.id).where(notice.c.outage_id == oid).order_by(notice.c.id)
        return int(conn.execute(first.limit(1)).scalar_one())


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


def _contact_ids(engine: Engine) -> tuple[int, int]:
    """Two SMS contacts of the sample data."""
    with engine.connect() as conn:
        first, second = conn.scalars(
            select(contact.c.id).where(contact.c.channel == "sms").order_by(contact.c.id).limit(2)
        )
    return first, second


def _message(engine: Engine, notice_id: int | None, contact_id: int, status: str) -> int:
    """A notice's message, or with no notice a reply to a stored inbound SMS."""
    address = f"+3864000{contact_id:04d}"
    with engine.begin() as conn:
        inbound_id = None
        if notice_id is None:
            inbound_id = conn.execute(
                insert(inbound_message).returning(inbound_message.c.id),
                {
                    "received_at": NOW,
                    "sender": address,
                    "receiver": "1919",
                    "text": "STOP",
                    "outcome": "opted out",
                    "replied": True,
                },
            ).scalar_one()
        return int(
            conn.execute(
                insert(message).returning(message.c.id),
                {
                    "notice_id": notice_id,
                    "inbound_id": inbound_id,
                    "contact_id": contact_id,
                    "channel": "sms",
                    "address": address,
                    "language": "sl",
                    "sender": None if notice_id else "1919",
                    "body": "Izklop",
                    "segments": 1,
                    "status": status,
                    "attempts": 0 if status == "pending" else 1,
                    "next_attempt_at": NOW - timedelta(seconds=1),
                    "expires_at": NOW + timedelta(days=9),
                    "created_at": NOW,
                },
            ).scalar_one()
        )


def _extra_notices(engine: Engine, notice_id: int, count: int) -> list[int]:
    """More notices of the same outage (one message per notice and contact)."""
    with engine.begin() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == notice_id)
        ).scalar_one()
        return [
            conn.execute(
                insert(notice).returning(notice.c.id),
                {
                    "outage_id": outage_id,
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


def test_a_contact_who_left_after_the_fan_out_is_never_claimed(
    engine: Engine, approved: int
) -> None:
    """The opt-out committed before these messages existed (a fan-out read consent
    earlier), so nothing cancelled them: the claim must."""
    gone, stays = _contact_ids(engine)
    notices = _extra_notices(engine, approved, 4)
    waiting = [_message(engine, notices[0], gone, "pending")]
    waiting.append(_message(engine, notices[1], gone, "retry_wait"))
    unknown = _message(engine, notices[2], gone, "unknown")
    kept = _message(engine, notices[3], stays, "pending")
    with engine.begin() as conn:
        conn.execute(update(contact).where(contact.c.id == gone).values(consent="opted_out"))
    reply = _message(engine, None, gone, "pending")  # the answer to their STOP

    claimed = outbox.claim_batch(engine, owner="a", channels=["sms"], limit=2, now=NOW)

    # The refused ones did not use up the batch.
    assert sorted(m.id for m in claimed) == sorted([kept, reply])
    with engine.connect() as conn:
        rows = {
            r.id: (r.status, r.last_error)
            for r in conn.execute(select(message.c.id, message.c.status, message.c.last_error))
        }
        events = conn.execute(
            select(delivery_event.c.message_id, delivery_event.c.status, delivery_event.c.detail)
        ).all()
    assert [rows[i] for i in waiting] == [("cancelled", outbox.OPTED_OUT_REASON)] * 2
    assert sorted(events) == [(i, "cancelled", outbox.OPTED_OUT_REASON) for i in waiting]
    # Unknown stays unknown (it may have been delivered) and is never sent again.
    assert rows[unknown][0] == "unknown"
    later = NOW + timedelta(hours=2)
    assert outbox.claim_batch(engine, owner="b", channels=["sms"], now=later) == []
    assert outbox.apply_report(engine, unknown, "delivered", "1", now=later)


def test_a_contact_opted_in_again_is_claimed(engine: Engine, approved: int) -> None:
    gone, _ = _contact_ids(engine)
    [notice_id] = _extra_notices(engine, approved, 1)
    resend = _message(engine, notice_id, gone, "unknown")
    with engine.begin() as conn:
        consent.opt_out(conn, [gone], now=NOW, source="SMS STOP")
    assert outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW) == []
    with engine.begin() as conn:
        conn.execute(update(contact).where(contact.c.id == gone).values(consent="opted_in"))
    [again] = outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW)
    assert (again.id, again.previous_status) == (resend, "unknown")


def test_expiry_works_in_batches(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 7)
    assert outbox.expire_due(engine, now=NOW + timedelta(days=10), batch=3) == 7
    assert states(engine) == {"expired": 7}
    with engine.connect() as conn:
        details = set(
            conn.scalars(
                select(delivery_event.c.detail).where(delivery_event.c.status == "expired")
            )
        )
    assert details == {"not sent before its deadline"}


def test_long_id_lists_stay_under_the_parameter_limit(engine: Engine, approved: int) -> None:
    """More ids than PostgreSQL's 65,535 parameters (and than SQLite's default
    32,766): each statement takes a bounded slice."""
    many = range(1_000_000, 1_070_000)
    with engine.begin() as conn:
        assert consent.opt_out(conn, many, now=NOW, source="test") == 0
    assert outbox.disable_contacts(engine, many, "blocked", now=NOW) == 0
    results = [outbox.Result(i, "sent") for i in many]
    assert outbox.record_results(engine, owner="a", results=results, now=NOW) == 0


def test_a_report_sets_the_send_time_only_when_it_first_learns_of_the_send(
    engine: Engine, approved: int
) -> None:
    add_messages(engine, approved, 2)
    first, second = outbox.claim_batch(engine, owner="a", channels=["sms"], now=NOW)
    sent = NOW + timedelta(seconds=5)
    outbox.record_results(engine, owner="a", results=[outbox.Result(first.id, "sent")], now=sent)
    late = NOW + timedelta(minutes=1)
    assert outbox.apply_report(engine, first.id, "delivered", "1", now=late)
    assert outbox.apply_report(engine, second.id, "delivered", "1", now=late)
    with engine.connect() as conn:
        times = {
            r.id: (r.sent_at, r.delivered_at)
            for r in conn.execute(select(message.c.id, message.c.sent_at, message.c.delivered_at))
        }
    assert times[first.id] == (sent, late)
    assert times[second.id] == (late, late)
