"""Outbox claims: leases, takeover, rule 1, and many claimers on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import outages, outbox, users
from dispatch_tui.storage.tables import contact, message, node, notice, outage, utility
from tests.storage.csvdata import load_all

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def approved(engine: Engine, tmp_path: Path) -> int:
    """An approved outage with one notice; returns the notice id."""
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "ana", "dispatcher", actor="root")
    users.add_operator(engine, "bohdan", "shift_lead", actor="root")
    with engine.connect() as conn:
        region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
        uid = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
    draft = outages.OutageDraft(
        utility_id=uid,
        title="t",
        reason="r",
        starts_at=NOW + timedelta(days=9),
        ends_at=NOW + timedelta(days=9, hours=2),
        selection=Selection(nodes=frozenset({region})),
    )
    oid = outages.create_draft(engine, draft, actor="ana")
    outages.submit(engine, oid, actor="ana")
    outages.approve(engine, oid, actor="bohdan")
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


def test_claims_are_disjoint_and_leases_expire(engine: Engine, approved: int) -> None:
    add_messages(engine, approved, 5)
    first = outbox.claim_batch(engine, owner="a", channels=["sms"], limit=3, now=NOW)
    second = outbox.claim_batch(engine, owner="b", channels=["sms"], limit=3, now=NOW)
    assert len(first) == 3 and len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}
    assert outbox.claim_batch(engine, owner="c", channels=["email"], now=NOW) == []
    later = NOW + timedelta(minutes=5)
    taken = outbox.claim_batch(engine, owner="c", channels=["sms"], now=later)
    assert {m.id for m in taken} == {m.id for m in first + second}
    stale = [outbox.Result(m.id, "sent", "ref-a") for m in first]
    assert outbox.record_results(engine, owner="a", results=stale, now=later) == 0
    done = [outbox.Result(m.id, "sent", f"ref-{m.id}") for m in taken]
    assert outbox.record_results(engine, owner="c", results=done, now=later) == 5
    with engine.connect() as conn:
        states = set(conn.execute(select(message.c.status)).scalars())
    assert states == {"sent"}


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
