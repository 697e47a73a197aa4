"""`tui-follow`: two terminals on one database (the small demo, SQLite). A
dispatcher withdraws a submitted outage with `w` in her outages list; how
long until the shift lead's approvals list has lost it, without a key
press. The baseline, in the same run: the lead presses Ctrl+R the moment
the change is committed (what a colleague calling across the room gives).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from textual.pilot import Pilot
from textual.widgets import DataTable

from dispatch_tui.app import DispatchApp
from dispatch_tui.config import load_settings
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens.approvals import ApprovalsScreen
from dispatch_tui.screens.outages import OutagesScreen, OutageTable
from dispatch_tui.storage import outage_lifecycle
from dispatch_tui.storage.demo import build_demo
from dispatch_tui.storage.tables import node, outage

RUNS = 7
SIZE = (80, 24)
GOAL_MS = 2000
DISPATCHER, LEAD = "ana", "bohdan"
"""Operators of the demo."""
Result = dict[str, Any]


def _app(engine: Engine, login: str) -> DispatchApp:
    settings = load_settings(env={"DISPATCH_TUI_ENGINE_EMBEDDED": "false"})
    return DispatchApp(engine, sandbox=True, settings=settings, login=login)


def _submitted(engine: Engine, count: int) -> list[int]:
    """`count` outages the dispatcher submitted, on one small substation."""
    with engine.connect() as conn:
        utility_id, node_id = conn.execute(
            select(node.c.utility_id, node.c.id)
            .where(node.c.mp_count > 0)
            .order_by(node.c.mp_count, node.c.id)
            .limit(1)
        ).one()
    start = (datetime.now(UTC) + timedelta(days=10)).replace(hour=7, minute=0, second=0)
    ids = []
    for n in range(count):
        draft = OutageDraft(
            utility_id=utility_id,
            title=f"Bench {n}",
            reason="планов ремонт",
            starts_at=start + timedelta(days=n),
            ends_at=start + timedelta(days=n, hours=4),
            selection=Selection(nodes=frozenset({node_id})),
        )
        outage_id = outage_lifecycle.create_draft(engine, draft, actor=DISPATCHER)
        outage_lifecycle.submit(engine, outage_id, actor=DISPATCHER)
        ids.append(outage_id)
    return ids


async def _until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the other terminal did not follow in time")
        await pilot.pause(0.002)


def _listed(table: DataTable[Any], key: str) -> bool:
    return key in table.rows


def _gone(table: DataTable[Any], key: str) -> bool:
    return key not in table.rows


def _withdrawn(engine: Engine, outage_id: int) -> bool:
    """Committed: the dispatcher's change is in the database."""
    with engine.connect() as conn:
        status = conn.execute(select(outage.c.status).where(outage.c.id == outage_id))
        return bool(status.scalar_one() == "draft")


async def _measure(engine: Engine, ids: list[int]) -> tuple[list[float], list[float]]:
    """(followed, baseline) in ms from the dispatcher's key press to the lead's list."""
    dispatcher, lead = _app(engine, DISPATCHER), _app(engine, LEAD)
    followed: list[float] = []
    baseline: list[float] = []
    async with dispatcher.run_test(size=SIZE) as mine, lead.run_test(size=SIZE) as theirs:
        await _until(mine, lambda: dispatcher.identity.role is not None)
        await _until(theirs, lambda: lead.identity.role is not None)
        await mine.press("f3")
        await theirs.press("f4")
        await _until(mine, lambda: isinstance(dispatcher.screen, OutagesScreen))
        await _until(theirs, lambda: isinstance(lead.screen, ApprovalsScreen))
        table = dispatcher.screen.query_one(OutageTable)
        pending = lead.screen.query_one("#pending", DataTable)
        await _until(mine, lambda: table.row_count == len(ids))
        await _until(theirs, lambda: pending.row_count == len(ids))
        for n, outage_id in enumerate(ids):
            key = str(outage_id)
            await _until(theirs, partial(_listed, pending, key))
            await _until(mine, partial(_listed, table, key))
            table.move_cursor(row=table.get_row_index(key))
            await mine.pause()
            start = time.perf_counter()
            await mine.press("w")
            by_hand = n % 2 == 1
            if by_hand:
                await _until(mine, partial(_withdrawn, engine, outage_id))
                await theirs.press("ctrl+r")
            await _until(theirs, partial(_gone, pending, key), 5)
            (baseline if by_hand else followed).append((time.perf_counter() - start) * 1000)
    return followed, baseline


def follow(path: Path, fresh: Callable[[Path], Engine]) -> Iterator[Result]:
    engine = fresh(path)
    build_demo(engine, size="small", seed=0)
    ids = _submitted(engine, 2 * RUNS)
    followed, baseline = asyncio.run(_measure(engine, ids))
    engine.dispose()
    ms = statistics.median(followed)
    yield {
        "benchmark": "tui-follow",
        "ms_median": round(ms),
        "ms_max": round(max(followed)),
        "baseline_ctrl_r_ms_median": round(statistics.median(baseline)),
        "runs": RUNS,
        "goal_ms": GOAL_MS,
        "ok": max(followed) <= GOAL_MS,
    }
