"""Ten operators previewing large regions at once (issue 15: on PostgreSQL they
waited a median 4.2 s for the counts and 7.4 s for the whole preview).

Each operator is a process of its own with its own connections, as ten
TUIs would be. All start together (a barrier) on the counts, then again on
the whole preview: the counts and the worst-case addresses
(`gather_affected`) and the preview built from them (`build_preview`:
texts, schedule, overlapping outages)."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import Engine, select

from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage.affected import affected_counts
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.preview import build_preview, gather_affected
from dispatch_tui.storage.tables import node

Result = dict[str, Any]
OPERATORS = 10
SMALLEST = 80_000
"""Regions of at least this many metering points take turns among the operators."""


def _operator(url: str, region_id: int, barrier: Barrier, out: Any) -> None:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        utility_id = conn.execute(
            select(node.c.utility_id).where(node.c.id == region_id)
        ).scalar_one()
    selection = Selection(nodes=frozenset({region_id}))
    now = datetime.now(UTC)
    draft = OutageDraft(
        utility_id=utility_id,
        title="Bench",
        reason="Vzdrževalna dela na omrežju",
        starts_at=now + timedelta(days=6),
        ends_at=now + timedelta(days=6, hours=4),
        selection=selection,
    )
    with engine.connect() as conn:
        conn.execute(select(1))
        barrier.wait()
        start = time.perf_counter()
        affected_counts(conn, selection)
        counts = time.perf_counter() - start
    barrier.wait()
    start = time.perf_counter()
    affected = gather_affected(engine, selection)
    with engine.connect() as conn:
        build_preview(conn, draft, now=now, affected=affected)
    whole = time.perf_counter() - start
    engine.dispose()
    out.put((counts * 1000, whole * 1000))


def operators_bench(engine: Engine, backend: str) -> Result:
    with engine.connect() as conn:
        regions = conn.execute(
            select(node.c.id, node.c.mp_count)
            .where(node.c.kind == "region", node.c.mp_count >= SMALLEST)
            .order_by(node.c.mp_count.desc(), node.c.id)
        ).all()
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    chosen = [regions[i % len(regions)] for i in range(OPERATORS)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(OPERATORS)
    out = context.Queue()
    procs = [
        context.Process(target=_operator, args=(url, region.id, barrier, out)) for region in chosen
    ]
    for proc in procs:
        proc.start()
    figures = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(60)
    counts = [c for c, _ in figures]
    whole = [w for _, w in figures]
    return {
        "benchmark": "operators",
        "database": backend,
        "operators": OPERATORS,
        "region_metering_points": f"{min(r.mp_count for r in chosen)}-"
        f"{max(r.mp_count for r in chosen)}",
        "counts_ms_median": round(statistics.median(counts), 1),
        "counts_ms_max": round(max(counts), 1),
        "preview_ms_median": round(statistics.median(whole), 1),
        "preview_ms_max": round(max(whole), 1),
        "goal_ms_max": 1000,
        "ok": max(whole) <= 1000,
    }
