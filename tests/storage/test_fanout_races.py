"""Fan-out claimed once, among real processes, on SQLite and PostgreSQL.

Several engine processes wake for the same due notice; exactly one may build
its messages (the unique key on (notice, contact) is the safety net, not the
mechanism).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.storage.tables import message, notice
from tests.storage import fanout_procs
from tests.storage.fanout_procs import Report

pytestmark = pytest.mark.slow

SPAWN = multiprocessing.get_context("spawn")
RACERS = 3
ROUNDS = 200


@contextmanager
def processes() -> Iterator[Callable[..., SpawnProcess]]:
    """Start workers with `start(target, *args)`; every one is gone afterwards."""
    started: list[SpawnProcess] = []

    def start(target: Callable[..., None], *args: Any) -> SpawnProcess:
        proc = SPAWN.Process(target=target, args=args, daemon=True)
        proc.start()
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            if proc.is_alive():
                proc.kill()
            proc.join(timeout=10)


def reports(queue: Queue[Report], count: int, timeout: float) -> list[Report]:
    return [queue.get(timeout=timeout) for _ in range(count)]


def message_counts(engine: Engine, notice_id: int) -> tuple[int, int]:
    """(messages, distinct contacts) of one notice."""
    with engine.connect() as conn:
        total, contacts = conn.execute(
            select(func.count(), func.count(func.distinct(message.c.contact_id))).where(
                message.c.notice_id == notice_id
            )
        ).one()
    return int(total), int(contacts)


def test_racing_engines_fan_each_notice_out_once(engine: Engine, db_url: str) -> None:
    notice_ids = fanout_procs.racing_notices(engine, ROUNDS)
    barrier = SPAWN.Barrier(RACERS)
    queue: Queue[Report] = SPAWN.Queue()
    began = time.monotonic()
    with processes() as start:
        for i in range(RACERS):
            start(fanout_procs.race, db_url, notice_ids, f"racer-{i}", barrier, queue)
        got = reports(queue, RACERS, timeout=300)
    elapsed = time.monotonic() - began
    wins: dict[int, list[str]] = {}
    for report in got:
        for notice_id in report.won:
            wins.setdefault(notice_id, []).append(report.owner)
    doubled = {n: owners for n, owners in wins.items() if len(owners) > 1}
    assert not doubled, f"{len(doubled)} of {ROUNDS} notices fanned out more than once"
    assert sorted(wins) == notice_ids
    with engine.connect() as conn:
        states = set(conn.execute(select(notice.c.status)).scalars())
    assert states == {"done"}
    print(f"{ROUNDS} rounds of {RACERS} racers in {elapsed:.1f} s")
