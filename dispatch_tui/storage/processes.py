"""Sending processes (apps with an embedded engine, headless engines).

Each process registers under a unique id that is also the owner name on
the leases it takes, and beats every few seconds, so the monitor can show
who holds what and whether it is alive.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import engine_process, message, notice

ALIVE_WITHIN = timedelta(seconds=30)
"""A process whose last beat is older than this is shown as gone."""

KEEP_STOPPED = timedelta(days=1)
"""A process stopped longer ago than this is neither shown nor kept: every start of
the app registers one, and they would pile up."""


def new_process_id(kind: str) -> str:
    """`engine@host:pid:xxxx`; the random tail keeps a reused pid apart."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def register(engine: Engine, process_id: str, kind: str, *, now: datetime | None = None) -> None:
    """Register this process, and forget those stopped over a day ago (`prune`)."""
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        prune(conn, now=now)
        conn.execute(
            insert(engine_process).values(
                id=process_id,
                kind=kind,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
                heartbeat_at=now,
            )
        )


def record_channels(
    engine: Engine, process_id: str, channels: Sequence[str], sandboxed: Sequence[str] = ()
) -> None:
    """The channels this process has a sender for: a bot channel without a token has
    none, and the monitor says so (`served_channels`) instead of showing its messages
    as in flight; and those of them its sandbox serves, which every terminal that
    does not send itself labels as such."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(engine_process)
            .where(engine_process.c.id == process_id)
            .values(channels=sorted(channels), sandbox_channels=sorted(sandboxed))
        )


def served_channels(conn: Connection, *, now: datetime) -> set[str] | None:
    """The channels some living process has a sender for; None when that is not known
    (no process alive, or one of an older version that does not say)."""
    rows = conn.scalars(
        select(engine_process.c.channels).where(
            engine_process.c.stopped_at.is_(None),
            engine_process.c.heartbeat_at >= now - ALIVE_WITHIN,
        )
    ).all()
    if not rows or any(channels is None for channels in rows):
        return None
    return {channel for channels in rows for channel in channels or ()}


def heartbeat(
    engine: Engine,
    process_id: str,
    *,
    now: datetime | None = None,
    gateways_down: Sequence[str] = (),
) -> None:
    """Alive, and which channels' gateways this process finds down (every terminal's
    header says so: the engine's log is not where an operator looks)."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(engine_process)
            .where(engine_process.c.id == process_id)
            .values(heartbeat_at=now or datetime.now(UTC), gateways_down=sorted(gateways_down))
        )


def stopped(engine: Engine, process_id: str, *, now: datetime | None = None) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(engine_process)
            .where(engine_process.c.id == process_id)
            .values(stopped_at=now or datetime.now(UTC))
        )


def prune(conn: Connection, *, now: datetime) -> int:
    """Delete processes stopped before `KEEP_STOPPED` ago that hold no lease; how many.

    A crashed process never says it stopped: it stays (shown as gone) while its
    leases name it, so the monitor can say who held what.
    """
    holders = select(message.c.lease_owner).where(
        message.c.status == "sending", message.c.lease_owner.is_not(None)
    )
    notice_holders = select(notice.c.lease_owner).where(
        notice.c.status == "fanning_out", notice.c.lease_owner.is_not(None)
    )
    return int(
        conn.execute(
            delete(engine_process).where(
                engine_process.c.stopped_at < now - KEEP_STOPPED,
                engine_process.c.id.not_in(holders),
                engine_process.c.id.not_in(notice_holders),
            )
        ).rowcount
    )


@dataclass(frozen=True)
class ProcessRow:
    id: str
    kind: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    messages_held: int
    notices_held: int
    alive: bool
    gateways_down: tuple[str, ...] = ()
    sandbox_channels: tuple[str, ...] | None = None
    """None: not said (an older engine, or not yet)."""


def list_processes(
    conn: Connection, *, now: datetime | None = None, since: timedelta = timedelta(days=1)
) -> list[ProcessRow]:
    """Processes seen within `since` (a stopped one: stopped within it), and any that
    still hold a lease; the living first, then the latest beat first."""
    now = now or datetime.now(UTC)
    held_messages: dict[str, int] = {
        owner: count
        for owner, count in conn.execute(
            select(message.c.lease_owner, func.count())
            .where(message.c.status == "sending")
            .group_by(message.c.lease_owner)
        )
    }
    held_notices: dict[str, int] = {
        owner: count
        for owner, count in conn.execute(
            select(notice.c.lease_owner, func.count())
            .where(notice.c.status == "fanning_out")
            .group_by(notice.c.lease_owner)
        )
    }
    rows = conn.execute(select(engine_process).order_by(engine_process.c.heartbeat_at.desc())).all()
    found = []
    for r in rows:
        messages, notices = held_messages.get(r.id, 0), held_notices.get(r.id, 0)
        last_seen = r.stopped_at or r.heartbeat_at
        if last_seen < now - since and not (messages or notices):
            continue
        alive = r.stopped_at is None and r.heartbeat_at >= now - ALIVE_WITHIN
        found.append(
            ProcessRow(
                r.id,
                r.kind,
                r.host,
                r.pid,
                r.started_at,
                r.heartbeat_at,
                r.stopped_at,
                messages,
                notices,
                alive,
                tuple(r.gateways_down or ()),
                None if r.sandbox_channels is None else tuple(r.sandbox_channels),
            )
        )
    return sorted(found, key=lambda p: not p.alive)
