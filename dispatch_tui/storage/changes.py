"""What other terminals changed: the signals migration 0014's triggers raise.

A topic names what a screen shows (the outages, the audit log). On SQLite
its counter grows with every write (`versions`, one read of a tiny table);
on PostgreSQL a listener is told at commit (`listen`). Either way a signal
only says "read again": anybody may NOTIFY the channel, so nothing trusts
more than that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select

from dispatch_tui.storage.tables import change_counter

if TYPE_CHECKING:
    import psycopg

OUTAGES = "outages"
AUDIT = "audit"
TOPICS = frozenset({OUTAGES, AUDIT})
CHANNEL = "dispatch_changes"
BURST_SECONDS = 0.05
"""How long to gather the notifications of one burst (a fan-out, several commits)."""


def versions(conn: Connection) -> dict[str, int]:
    """Each topic's counter (SQLite): a different value means new writes."""
    rows = conn.execute(select(change_counter.c.topic, change_counter.c.version))
    return {topic: int(version) for topic, version in rows}


class Listener:
    """A PostgreSQL connection of its own that LISTENs for changed topics."""

    def __init__(self, conn: psycopg.AsyncConnection[object]) -> None:
        self._conn = conn

    async def changed(self) -> frozenset[str]:
        """Wait for the next change; the topics of a burst come as one set."""
        topics = {n.payload async for n in self._conn.notifies(stop_after=1)}
        topics |= {n.payload async for n in self._conn.notifies(timeout=BURST_SECONDS)}
        return frozenset(topics & TOPICS)


@asynccontextmanager
async def listen(engine: Engine) -> AsyncIterator[Listener]:
    """Listen on the database of `engine` (PostgreSQL), with its connection
    settings: the session user is the operator's role, as for every query."""
    import psycopg  # only PostgreSQL sites install it

    args, kwargs = engine.dialect.create_connect_args(engine.url)
    conn = await psycopg.AsyncConnection.connect(*args, **kwargs, autocommit=True)
    async with conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        yield Listener(conn)
