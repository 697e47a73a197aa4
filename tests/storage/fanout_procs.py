"""Real OS processes that fan out notices, for the race and lease tests.

Each worker opens its own engine on the test database (spawned processes
share nothing with the test but the database) and reports to the test over
a multiprocessing queue: who fanned out what, and when.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event

from sqlalchemy import Connection, Engine, insert, select

from dispatch_tui.storage import fanout
from dispatch_tui.storage.db import create_db_engine, db_value, insert_rows, write_transaction
from dispatch_tui.storage.tables import (
    contact,
    metering_point,
    node,
    outage_selection,
    subscriber,
    subscription,
    utility,
)
from tests.engine.factory import approved_notice


@dataclass(frozen=True)
class Report:
    """What one worker saw: the notices it fanned out (with their results),
    when it claimed them, and when it gave up or finished."""

    owner: str
    won: list[int]
    subscribers: int | None = None
    claimed_at: float | None = None
    finished_at: float | None = None


def race(
    db_url: str, notice_ids: list[int], owner: str, barrier: Barrier, reports: Queue[Report]
) -> None:
    """For each notice in turn, meet the other racers at the barrier and try to fan it out."""
    engine = create_db_engine(db_url)
    won: list[int] = []
    for notice_id in notice_ids:
        barrier.wait(timeout=120)
        if fanout.fan_out(engine, notice_id, owner=owner, now=datetime.now(UTC)) is not None:
            won.append(notice_id)
    engine.dispose()
    reports.put(Report(owner, won))


def fan_out_once(
    db_url: str,
    notice_id: int,
    owner: str,
    lease_seconds: float,
    batch_size: int,
    reports: Queue[Report],
) -> None:
    """One fan-out under a short lease; reports its result (None: lost or not ours)."""
    engine = create_db_engine(db_url)
    began = datetime.now(UTC)
    result = fanout.fan_out(
        engine,
        notice_id,
        owner=owner,
        now=began,
        lease=timedelta(seconds=lease_seconds),
        batch_size=batch_size,
    )
    engine.dispose()
    reports.put(
        Report(
            owner,
            [notice_id] if result is not None else [],
            subscribers=result.subscribers if result is not None else None,
            claimed_at=began.timestamp(),
            finished_at=time.time(),
        )
    )


def keep_trying(
    db_url: str,
    notice_id: int,
    owner: str,
    lease_seconds: float,
    batch_size: int,
    stop: Event,
    reports: Queue[Report],
) -> None:
    """Try to fan the notice out every 50 ms until one attempt succeeds or `stop` is set."""
    engine = create_db_engine(db_url)
    while not stop.is_set():
        attempt = datetime.now(UTC)
        result = fanout.fan_out(
            engine,
            notice_id,
            owner=owner,
            now=attempt,
            lease=timedelta(seconds=lease_seconds),
            batch_size=batch_size,
        )
        if result is not None:
            engine.dispose()
            reports.put(
                Report(
                    owner,
                    [notice_id],
                    subscribers=result.subscribers,
                    claimed_at=attempt.timestamp(),
                    finished_at=time.time(),
                )
            )
            return
        time.sleep(0.05)
    engine.dispose()
    reports.put(Report(owner, []))


def populate(conn: Connection, subscribers: int, code: str) -> tuple[int, int]:
    """A utility with one node and `subscribers` subscribers, each with one
    metering point and one SMS contact: (utility id, node id)."""
    now = datetime.now(UTC)
    uid = conn.execute(
        insert(utility).returning(utility.c.id),
        {
            "code": code,
            "name": "Elektro Test",
            "country": "SI",
            "timezone": "Europe/Ljubljana",
            "language": "sl",
            "contact_phone": "080 21 00",
            "sms_sender": "ELEKTRO",
        },
    ).scalar_one()
    node_id = conn.execute(
        insert(node).returning(node.c.id),
        {"utility_id": uid, "kind": "region", "code": code, "name": code, "path": ""},
    ).scalar_one()
    path = f"/{node_id}/"
    conn.execute(node.update().where(node.c.id == node_id).values(path=path))
    insert_rows(
        conn,
        metering_point,
        (
            "utility_id",
            "node_id",
            "path",
            "mp_id",
            "settlement",
            "street",
            "house",
            "search_key",
            "priority",
        ),
        [
            (uid, node_id, path, f"{code}-{i}", "Kranj", "Ulica", str(i), f"ulica {i} kranj", False)
            for i in range(subscribers)
        ],
    )
    stamp = db_value(conn, subscriber.c.created_at, now)
    insert_rows(
        conn,
        subscriber,
        ("utility_id", "account", "language", "name", "created_at"),
        [(uid, f"{i:08d}", "sl", "", stamp) for i in range(subscribers)],
    )
    mps = conn.execute(
        select(metering_point.c.id)
        .where(metering_point.c.utility_id == uid)
        .order_by(metering_point.c.id)
    ).scalars()
    subs = list(
        conn.execute(
            select(subscriber.c.id).where(subscriber.c.utility_id == uid).order_by(subscriber.c.id)
        ).scalars()
    )
    insert_rows(
        conn,
        subscription,
        ("subscriber_id", "mp_id", "created_at"),
        [(s, m, stamp) for s, m in zip(subs, mps, strict=True)],
    )
    insert_rows(
        conn,
        contact,
        ("subscriber_id", "channel", "address", "consent", "consent_at", "consent_source"),
        [(s, "sms", f"+3864{i:07d}", "opted_in", stamp, "test") for i, s in enumerate(subs)],
    )
    return int(uid), int(node_id)


def due_notice(conn: Connection, utility_id: int, node_id: int) -> int:
    """A notice due now of a new approved outage over `node_id`; its id."""
    oid, nid = approved_notice(
        conn,
        utility_id,
        ["sms"],
        starts_in=timedelta(days=3),
        hours=2,
        notice_status="scheduled",
        now=datetime.now(UTC) - timedelta(seconds=1),
    )
    conn.execute(insert(outage_selection), {"outage_id": oid, "node_id": node_id})
    return nid


def big_notice(engine: Engine, subscribers: int) -> int:
    """A due notice to `subscribers` subscribers; its id. PostgreSQL gets
    fresh statistics, as after any bulk load (the demo does the same):
    planned without them, the streamed affected-subscriber query takes a
    nested loop whose cost grows with the square of the rows."""
    with write_transaction(engine) as conn:
        notice_id = due_notice(conn, *populate(conn, subscribers, "BIG"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return notice_id


def racing_notices(engine: Engine, count: int, subscribers: int = 3) -> list[int]:
    """`count` due notices, each of its own outage, over the same few subscribers."""
    with write_transaction(engine) as conn:
        uid, node_id = populate(conn, subscribers, "RACE")
        return [due_notice(conn, uid, node_id) for _ in range(count)]
