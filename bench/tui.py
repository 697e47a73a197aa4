"""Benchmarks of the screens, driven by Pilot on the large demo database."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from textual.pilot import Pilot

from dispatch_tui.app import DispatchApp, tune_gc
from dispatch_tui.config import load_settings
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens.outage_form import OutageFormScreen
from dispatch_tui.screens.preview import PreviewScreen
from dispatch_tui.storage.demo import BENCH_REGION_CODE, BIG_STATION_CODE
from dispatch_tui.storage.search import SearchHit
from dispatch_tui.storage.tables import metering_point, node
from dispatch_tui.storage.users import get_operator
from dispatch_tui.widgets.network_tree import NetworkTree
from dispatch_tui.widgets.preview_panel import PreviewPanel

SIZE = (100, 30)
RUNS = 5
Result = dict[str, Any]


def _admin(engine: Engine) -> str:
    import getpass

    login = getpass.getuser()
    with engine.connect() as conn:
        if get_operator(conn, login) is None:
            raise SystemExit(f"{login} is not a user of the benchmark database")
    return login


def _app(engine: Engine) -> DispatchApp:
    """The app as `dispatch-tui` runs it (`run_app`: its garbage collector tuned)."""
    tune_gc()
    return DispatchApp(engine, sandbox=True, settings=load_settings(env={}), login=_admin(engine))


async def _until(pilot: Pilot[None], condition: Any, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not get there in time")
        await pilot.pause(0.001)


async def _startup(engine: Engine) -> float:
    start = time.perf_counter()
    app = _app(engine)
    async with app.run_test(size=SIZE) as pilot:

        def ready() -> bool:
            trees = app.screen.query(NetworkTree)
            return bool(trees) and len(trees.first().root.children) > 0

        await _until(pilot, ready)
        await pilot.pause()
        return (time.perf_counter() - start) * 1000


def startup(engine: Engine) -> Iterator[Result]:
    samples = [asyncio.run(_startup(engine)) for _ in range(RUNS)]
    ms = statistics.median(samples)
    yield {
        "benchmark": "tui-startup",
        "ms_median": round(ms),
        "runs": RUNS,
        "goal_ms": 1000,
        "ok": ms <= 1000,
    }


async def _expand(engine: Engine, hit: SearchHit) -> float:
    app = _app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: bool(app.screen.query(NetworkTree)))
        tree = app.screen.query_one(NetworkTree)
        await _until(pilot, lambda: len(tree.root.children) > 0)
        tree.reveal(hit.target)
        await _until(
            pilot,
            lambda: (
                tree.cursor_node is not None
                and tree.cursor_node.data is not None
                and tree.cursor_node.data.id == hit.id
            ),
        )
        station = tree.cursor_node.parent
        assert station is not None and station.data is not None
        station.collapse()
        station.remove_children()
        station.data.loaded = False
        await pilot.pause()
        start = time.perf_counter()
        station.expand()
        await _until(pilot, lambda: len(station.children) > 0)
        await pilot.pause()
        return (time.perf_counter() - start) * 1000


def expand(engine: Engine) -> Iterator[Result]:
    with engine.connect() as conn:
        station_id, path, uid = conn.execute(
            select(node.c.id, node.c.path, node.c.utility_id).where(node.c.code == BIG_STATION_CODE)
        ).one()
        mp_row = conn.execute(
            select(metering_point.c.id, metering_point.c.mp_id)
            .where(metering_point.c.node_id == station_id)
            .order_by(metering_point.c.mp_id)
            .limit(1)
        ).one()
        children = conn.execute(
            select(metering_point.c.id).where(metering_point.c.node_id == station_id)
        ).all()
    hit = SearchHit(mp_row.id, uid, mp_row.mp_id, "", path, "bench")
    samples = [asyncio.run(_expand(engine, hit)) for _ in range(RUNS)]
    ms = statistics.median(samples)
    yield {
        "benchmark": "tui-expand",
        "children": len(children),
        "shown_first_page": 200,
        "ms_median": round(ms),
        "goal_ms": 250,
        "ok": ms <= 250,
    }


async def _preview(engine: Engine, region_id: int, utility_id: int) -> float:
    app = _app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: bool(app.screen.query(NetworkTree)))
        form = OutageFormScreen(utility_id, Selection(nodes=frozenset({region_id})))
        await app.push_screen(form)
        await _until(pilot, lambda: form.timezone != "UTC")
        start_at = datetime.now(UTC) + timedelta(days=8)
        form.query_one("#title").value = "Bench"  # type: ignore[attr-defined]
        form.query_one("#reason").value = "планов ремонт"  # type: ignore[attr-defined]
        form.query_one("#start").value = start_at.astimezone().strftime("%Y-%m-%d 09:00")  # type: ignore[attr-defined]
        form.query_one("#end").value = start_at.astimezone().strftime("%Y-%m-%d 13:00")  # type: ignore[attr-defined]
        await pilot.pause()
        start = time.perf_counter()
        await pilot.press("f6")
        await _until(
            pilot,
            lambda: isinstance(app.screen, PreviewScreen) and bool(app.screen.query(PreviewPanel)),
        )
        await pilot.pause()
        return (time.perf_counter() - start) * 1000


def preview(engine: Engine) -> Iterator[Result]:
    with engine.connect() as conn:
        region_id, utility_id, mps = conn.execute(
            select(node.c.id, node.c.utility_id, node.c.mp_count).where(
                node.c.code == BENCH_REGION_CODE
            )
        ).one()
    samples = [asyncio.run(_preview(engine, region_id, utility_id)) for _ in range(RUNS)]
    ms = statistics.median(samples)
    yield {
        "benchmark": "tui-preview",
        "metering_points": mps,
        "ms_median": round(ms),
        "goal_ms": 250,
        "ok": ms <= 250,
    }
