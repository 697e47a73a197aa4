"""The scheduler: jobs mirror the database, missed wake-ups fire once at
start (never for an outage that started, ended or was cancelled), a job
that raises never stops the others, and two engines waking for a fan-out
longer than its lease build it once."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from dispatch_tui.engine.scheduler import NoticeScheduler
from dispatch_tui.storage import fanout, outage_lifecycle
from dispatch_tui.storage.affected import AffectedSubscriber
from dispatch_tui.storage.tables import message, notice, outage
from tests.engine.conftest import Recording, running, until
from tests.factories import approved_outage
from tests.storage.fanout_procs import big_notice


@pytest.fixture
def approved(engine: Engine, tmp_path: Path) -> int:
    return approved_outage(engine, tmp_path)


def scheduled(engine: Engine, outage_id: int) -> dict[int, datetime]:
    with engine.connect() as conn:
        return {
            r.id: r.due_at
            for r in conn.execute(
                select(notice.c.id, notice.c.due_at).where(
                    notice.c.outage_id == outage_id, notice.c.status == "scheduled"
                )
            )
        }


async def test_jobs_mirror_the_database(engine: Engine, approved: int) -> None:
    fired: list[int] = []

    async def fan_out(notice_id: int) -> None:
        fired.append(notice_id)

    scheduler = NoticeScheduler(engine, fan_out)
    await scheduler.start()
    try:
        wanted = scheduled(engine, approved)
        assert wanted and scheduler.notice_jobs() == wanted
        outage_lifecycle.cancel(engine, approved, actor="ana", reason="works postponed")
        await scheduler.sync()
        assert scheduler.notice_jobs() == {}
        assert fired == []
    finally:
        scheduler.shutdown()


async def test_a_missed_wake_up_fires_at_start(engine: Engine, approved: int) -> None:
    fired: list[int] = []

    async def fan_out(notice_id: int) -> None:
        fired.append(notice_id)

    first = min(scheduled(engine, approved), key=lambda i: scheduled(engine, approved)[i])
    with engine.begin() as conn:
        conn.execute(
            update(notice)
            .where(notice.c.id == first)
            .values(due_at=datetime.now(UTC) - timedelta(hours=3))
        )
    scheduler = NoticeScheduler(engine, fan_out)
    await scheduler.start()
    try:
        for _ in range(100):
            if fired:
                break
            await asyncio.sleep(0.02)
        assert fired == [first]
    finally:
        scheduler.shutdown()


@pytest.mark.parametrize("how", ["started", "ended", "cancelled"])
async def test_no_late_notice_for_an_outage_that_started_ended_or_was_cancelled(
    engine: Engine, approved: int, how: str
) -> None:
    now = datetime.now(UTC)
    past = now - timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(update(notice).values(due_at=now - timedelta(days=1)))
        if how == "started":
            conn.execute(update(outage).values(starts_at=past))
        if how == "ended":
            conn.execute(update(outage).values(starts_at=past - timedelta(hours=3), ends_at=past))
    if how == "cancelled":
        outage_lifecycle.cancel(engine, approved, actor="ana", reason="works postponed")
    fired: list[int] = []

    async def fan_out(notice_id: int) -> None:
        fired.append(notice_id)

    scheduler = NoticeScheduler(engine, fan_out)
    await scheduler.start()
    try:
        await asyncio.sleep(0.2)
        assert fired == []
        assert scheduler.notice_jobs() == {}
    finally:
        scheduler.shutdown()
    with engine.connect() as conn:
        states = set(
            conn.execute(select(notice.c.status).where(notice.c.outage_id == approved)).scalars()
        )
    assert states == ({"cancelled"} if how == "cancelled" else {"skipped"})


async def test_a_job_that_raises_never_stops_the_scheduler(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    ticks: list[int] = []

    async def boom() -> None:
        raise RuntimeError("database went away")

    async def tick() -> None:
        ticks.append(1)

    async def fan_out(notice_id: int) -> None:
        raise AssertionError("no notices here")

    scheduler = NoticeScheduler(engine, fan_out)
    scheduler.every("boom", 0.05, boom)
    scheduler.every("tick", 0.05, tick)
    with caplog.at_level(logging.ERROR):
        await scheduler.start()
        try:
            await asyncio.sleep(0.4)
        finally:
            scheduler.shutdown()
    assert len(ticks) >= 3
    assert "scheduled job boom failed" in caplog.text
    assert "database went away" in caplog.text


async def test_a_job_cut_short_by_shutdown_logs_no_error(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopping the engine mid-job is not a failure (it failed the short-lease test in
    CI, where a slow machine made a job's thread outlast the stop)."""
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.to_thread(time.sleep, 0.3)

    async def fan_out(notice_id: int) -> None:
        raise AssertionError("no notices here")

    scheduler = NoticeScheduler(engine, fan_out)
    scheduler.every("slow", 10, slow)
    with caplog.at_level(logging.WARNING):
        await scheduler.start()
        await asyncio.wait_for(started.wait(), 5)
        scheduler.shutdown()
        await asyncio.sleep(0.5)
    assert [r.getMessage() for r in caplog.records] == []


@pytest.mark.slow
async def test_two_engines_build_a_fan_out_longer_than_its_lease_once(
    engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both engines wake when the notice is due and again whenever its lease
    seems to end; the builder's renewals keep every later claim away.

    The build is made slow on purpose (a pause before each batch, as a starved
    machine would), so it outlives its lease several times on any machine
    while a stall of well over a second still leaves each renewal in time."""
    count, lease, pause = 3_000, timedelta(seconds=2), 0.3
    notice_id = big_notice(engine, count)
    batches = fanout._batches

    def slow_batches(
        stream: Iterator[AffectedSubscriber], size: int
    ) -> Iterator[list[AffectedSubscriber]]:
        for group in batches(stream, 250):
            time.sleep(pause)
            yield group

    monkeypatch.setattr(fanout, "_batches", slow_batches)
    longest_hold = timedelta(0)

    def built() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.getMessage().startswith(f"notice {notice_id}: fan-out done")
        ]

    def finished() -> bool:
        nonlocal longest_hold
        with engine.connect() as conn:
            status, until_ = conn.execute(
                select(notice.c.status, notice.c.lease_until).where(notice.c.id == notice_id)
            ).one()
        if until_ is not None:
            longest_hold = max(longest_hold, until_ - datetime.now(UTC))
        return bool(status == "done" and built())

    with caplog.at_level(logging.INFO, logger="dispatch_tui"):
        async with (
            running(engine, {"email": Recording("email")}, notice_lease=lease),
            running(engine, {"email": Recording("email")}, notice_lease=lease),
        ):
            await until(finished, timeout=120, what="the notice built")
    [line] = built()
    match = re.fullmatch(
        rf"notice {notice_id}: fan-out done in (.*) s: {count} messages for {count} "
        "subscribers; sending",
        line,
    )
    assert match is not None, line
    assert float(match[1]) > lease.total_seconds(), "too quick to outlive its lease: raise count"
    assert longest_hold <= lease, "the engine's notice lease was not used"
    # A builder may still lose its lease when the machine stalls longer than it (a
    # loaded CI box): it stops and the other engine builds, still once. Without
    # renewals no builder would ever outlive the lease, and nothing would be built.
    own_wake_ups = [
        r
        for r in caplog.records
        if "_fan_out" in r.getMessage() and "maximum number of running" in r.getMessage()
    ]
    assert not own_wake_ups, "an engine woke for the notice it was building"
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).where(message.c.notice_id == notice_id)).scalar_one()
            == count
        )
