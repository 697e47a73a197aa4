"""Renewing leases while the send loop records results never deadlocks (issue 15: during a
122k send on PostgreSQL the heartbeat's renewal and the workers' result recording took
the same message rows in different orders and PostgreSQL killed one with "deadlock
detected"). The heartbeat renews in a loop while two workers record results of
shuffled batches of the same leased messages, as fast as they can."""

from __future__ import annotations

import os
import random
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, update

from dispatch_tui.storage import outbox
from dispatch_tui.storage.tables import message
from tests.engine.factory import make_outbox

COUNT = int(os.environ.get("DISPATCH_TEST_DEADLOCK_MESSAGES", "20000"))
"""20k in the suite; DISPATCH_TEST_DEADLOCK_MESSAGES=100000 for the size of the report."""


def test_renewal_and_results_never_deadlock(engine: Engine) -> None:
    make_outbox(engine, COUNT)
    now = datetime.now(UTC)
    claimed: list[int] = []
    while batch := outbox.claim_batch(engine, owner="a", channels=["sms"], limit=5000, now=now):
        claimed += [m.id for m in batch]
    assert len(claimed) == COUNT
    rng = random.Random(7)
    rng.shuffle(claimed)
    # Rewrite the rows in shuffled order, as retries and reports do over a long send, so
    # that a scan meets them in an order unlike their ids.
    with engine.begin() as conn:
        for i in range(0, len(claimed), 500):
            conn.execute(
                update(message)
                .where(message.c.id.in_(claimed[i : i + 500]))
                .values(attempts=message.c.attempts)
            )
    rng.shuffle(claimed)
    batches = [claimed[i : i + 200] for i in range(0, len(claimed), 200)]
    errors: list[BaseException] = []
    done = threading.Event()

    def renew() -> None:
        try:
            # Far more often than the heartbeat (every lease/3 s), with a breath between
            # renewals so SQLite's writers, which take turns, all get theirs.
            while not done.wait(0.01):
                outbox.extend_leases(engine, owner="a", lease=timedelta(seconds=60), now=now)
        except BaseException as exc:
            errors.append(exc)

    def record(mine: list[list[int]]) -> None:
        try:
            for ids in mine:
                # Two kinds of result in one call: two UPDATEs, each taking its rows
                # wherever they lie, one after the other.
                results = [
                    outbox.Result(i, "sent") if i % 3 else outbox.Result(i, "failed", reason="x")
                    for i in ids
                ]
                outbox.record_results(engine, owner="a", results=results, now=now)
        except BaseException as exc:
            errors.append(exc)

    renewer = threading.Thread(target=renew)
    workers = [threading.Thread(target=record, args=(batches[k::2],)) for k in range(2)]
    renewer.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    done.set()
    renewer.join(timeout=60)
    assert not errors, errors[0]
    with engine.connect() as conn:
        sent = conn.scalar(select(func.count()).where(message.c.status == "sent"))
        failed = conn.scalar(select(func.count()).where(message.c.status == "failed"))
    assert sent + failed == COUNT
