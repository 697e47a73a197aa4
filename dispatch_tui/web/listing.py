"""The listing in memory: the last good reading of the database, and what was rendered of it.

The web never reads the database on a page view. A background task reads
every public work at start, whenever the outages' change signal fires
(`storage.changes`: a counter on SQLite, LISTEN on PostgreSQL) and at least
every `web.refresh_seconds`; pages and feeds are rendered from the latest
reading on first request and kept until the next one. When the database is
away the last reading stays, marked stale with its "as of" time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dispatch_tui.domain.public_works import PublicUtility, PublicWork
from dispatch_tui.domain.text import fold
from dispatch_tui.storage import changes, public_works
from dispatch_tui.storage.db import is_sqlite

log = logging.getLogger(__name__)

POLL_SECONDS: Final = 1.0
"""How often SQLite's change counter is read (one row of a tiny table)."""
RETRY_SECONDS: Final = 5.0
"""Wait before listening again after PostgreSQL's listener lost its connection."""


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Resource:
    """A rendered page or feed with its validators."""

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    """Seconds precision (HTTP dates have no more); kept while the bytes stay the same."""

    @functools.cached_property
    def headers(self) -> dict[str, str]:
        """The validators as sent, formatted once rather than per request."""
        return {
            "ETag": self.etag,
            "Last-Modified": format_datetime(self.last_modified, usegmt=True),
            "Content-Type": self.content_type,
        }


def make_resource(
    body: bytes, content_type: str, previous: Resource | None, now: datetime
) -> Resource:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if previous is not None and previous.etag == etag:
        return previous
    return Resource(body, content_type, etag, now.replace(microsecond=0))


Key = tuple[str, ...]


@dataclass
class Snapshot:
    """One reading of the database and the resources rendered from it."""

    as_of: datetime
    utilities: Mapping[str, PublicUtility]
    works: Mapping[str, tuple[PublicWork, ...]]
    stale_since: datetime | None = None
    previous: Snapshot | None = None
    _rendered: dict[Key, Resource] = field(default_factory=dict)
    _places: dict[str, dict[str, str]] = field(default_factory=dict)

    def settlement(self, code: str, name: str) -> str | None:
        """The settlement of utility `code` that `name` names (folded), if it has works."""
        places = self._places.get(code)
        if places is None:
            places = {
                fold(a.settlement): a.settlement
                for work in self.works.get(code, ())
                for a in work.addresses
            }
            self._places[code] = places
        return places.get(fold(name))

    def resource(self, key: Key, build: Callable[[], tuple[bytes, str]]) -> Resource:
        """The resource `key`, rendered once per snapshot; unchanged bytes keep their
        Last-Modified from the snapshot before."""
        found = self._rendered.get(key)
        if found is None:
            body, content_type = build()
            before = self.previous._rendered.get(key) if self.previous else None
            found = make_resource(body, content_type, before, self.as_of)
            self._rendered[key] = found
        return found

    def went_stale(self, at: datetime) -> Snapshot:
        """The same reading, marked as not refreshed since `at` (pages say so)."""
        return replace(self, stale_since=at, previous=self, _rendered={}, _places={})


def read(db: Engine, now: datetime) -> Snapshot:
    """Everything the public may see, in one read transaction."""
    with db.connect() as conn, conn.begin():
        places = public_works.utilities(conn)
        works = public_works.load(conn, now)
    by_utility: dict[str, list[PublicWork]] = {u.code: [] for u in places}
    for work in works:
        by_utility.setdefault(work.utility_code, []).append(work)
    return Snapshot(
        as_of=now,
        utilities={u.code: u for u in places},
        works={code: tuple(found) for code, found in by_utility.items()},
    )


class Listing:
    """The current snapshot, and the task that keeps it fresh."""

    def __init__(
        self,
        db: Engine,
        *,
        refresh_seconds: float,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.snapshot: Snapshot | None = None
        self._changed = asyncio.Event()

    async def refresh(self) -> bool:
        """Read again; on failure keep the last snapshot (marked stale). True if read."""
        now = self.clock()
        try:
            fresh = await asyncio.to_thread(read, self.db, now)
        except (SQLAlchemyError, OSError) as error:
            log.warning("listing not refreshed, the database failed: %s", str(error)[:200])
            if self.snapshot is not None and self.snapshot.stale_since is None:
                self.snapshot = self.snapshot.went_stale(now)
            return False
        fresh.previous = self.snapshot
        if fresh.previous is not None:
            fresh.previous.previous = None  # one generation back is all Last-Modified needs
        self.snapshot = fresh
        return True

    async def run(self) -> None:
        """Refresh now (unless just done), on every change signal, and every
        `refresh_seconds`; until cancelled."""
        watcher = asyncio.create_task(self._watch())
        fresh = self.snapshot is not None and self.snapshot.stale_since is None
        try:
            while True:
                self._changed.clear()
                if not fresh:  # a reading made just before run() is not repeated
                    await self.refresh()
                fresh = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self.refresh_seconds)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch(self) -> None:
        if is_sqlite(self.db):
            await self._poll_counter()
        else:
            await self._listen()

    async def _poll_counter(self) -> None:
        seen: int | None = None
        while True:
            try:
                version = await asyncio.to_thread(self._outages_version)
            except (SQLAlchemyError, OSError):
                version = seen  # the database is away: the periodic refresh notices
            if seen is not None and version != seen:
                self._changed.set()
            seen = version
            await asyncio.sleep(POLL_SECONDS)

    def _outages_version(self) -> int | None:
        with self.db.connect() as conn:
            return changes.versions(conn).get(changes.OUTAGES)

    async def _listen(self) -> None:
        while True:
            try:
                async with changes.listen(self.db) as listener:
                    self._changed.set()  # anything missed while not listening
                    while True:
                        if changes.OUTAGES in await listener.changed():
                            self._changed.set()
            except Exception as error:  # the connection's errors: psycopg's, OSError
                log.warning("not listening for changes (%s); retrying", str(error)[:200])
                await asyncio.sleep(RETRY_SECONDS)
