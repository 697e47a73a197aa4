"""Wakes the engine at notice due times; holds nothing the database does not.

An APScheduler 3 `AsyncIOScheduler` on the app's (or headless engine's)
own event loop with the memory job store only. One date job per notice
still to build (or whose builder's lease may run out, unless this process
is the builder), rebuilt from the database at start and on every sync
(every few seconds, so changes made by any process are picked up), plus
interval jobs for housekeeping. Jobs coalesce, run one instance at a time,
and every exception is caught and logged: a job that raises never stops
the scheduler. A notice due while nothing ran fires at the next start,
unless its moment has passed (`fanout.skip_missed`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine

from dispatch_tui.storage import fanout

log = logging.getLogger(__name__)

NOTICE_JOB_PREFIX = "notice-"

Job = Callable[[], Awaitable[None]]


def guarded(name: str, job: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Log and swallow a job's exception, so one bad run never stops the others. A run
    cut short by the scheduler's shutdown (which cancels it) ends quietly: APScheduler
    would otherwise log the cancellation as an error of the job."""

    @wraps(job)
    async def run(*args: Any) -> None:
        try:
            await job(*args)
        except asyncio.CancelledError:
            log.debug("scheduled job %s cut short by shutdown", name)
        except Exception:
            log.exception("scheduled job %s failed", name)

    return run


class NoticeScheduler:
    """Date jobs for due notices plus named interval jobs (sync, expiry, heartbeat)."""

    def __init__(
        self,
        db: Engine,
        fan_out: Callable[[int], Awaitable[None]],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.clock = clock
        self._guarded_fan_out = guarded("fan-out", fan_out)
        self._building: set[int] = set()
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._sync_lock = asyncio.Lock()

    def every(self, name: str, seconds: float, job: Job) -> None:
        """Run `job` every `seconds`; the first run is right away."""
        self._scheduler.add_job(
            guarded(name, job),
            "interval",
            seconds=seconds,
            id=name,
            next_run_time=self.clock(),
            replace_existing=True,
        )

    async def start(self) -> None:
        self._scheduler.start()
        await self.sync()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def notice_jobs(self) -> dict[int, datetime]:
        """The notices a wake-up is set for, and when (for tests and the monitor)."""
        return {
            int(job.id.removeprefix(NOTICE_JOB_PREFIX)): job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.id.startswith(NOTICE_JOB_PREFIX) and job.next_run_time is not None
        }

    async def sync(self) -> None:
        """Make the date jobs match the database."""
        async with self._sync_lock:
            now = self.clock()
            await asyncio.to_thread(fanout.skip_missed, self.db, now=now)
            pending = await asyncio.to_thread(self._pending)
            wanted = {p.id: max(p.due_at, now) for p in pending if p.id not in self._building}
            current = self.notice_jobs()
            for notice_id in current.keys() - wanted.keys():
                self._scheduler.remove_job(f"{NOTICE_JOB_PREFIX}{notice_id}")
            for notice_id, at in wanted.items():
                if notice_id in current and current[notice_id] <= at:
                    continue
                self._scheduler.add_job(
                    self._fan_out,
                    "date",
                    run_date=at,
                    args=[notice_id],
                    id=f"{NOTICE_JOB_PREFIX}{notice_id}",
                    replace_existing=True,
                )

    async def _fan_out(self, notice_id: int) -> None:
        """Fan out, remembering meanwhile that this process is building the
        notice: its renewed lease must not look like a wake-up to set."""
        self._building.add(notice_id)
        try:
            await self._guarded_fan_out(notice_id)
        finally:
            self._building.discard(notice_id)

    def _pending(self) -> list[fanout.PendingNotice]:
        with self.db.connect() as conn:
            return fanout.pending_notices(conn)
