"""The public web under load: the busiest settlement's page and its feeds on the large demo,
50 concurrent clients, beside a bare aiohttp handler returning the same bytes from memory.

Both servers run as processes of their own (`dispatch-tui web` on a copy of the large
demo with planned works on the busiest utility's largest feeders; bench/web_static.py
with the bytes ours served), driven by the same aiohttp client in this process, one
after the other: the ratio compares servers under the same client and machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from sqlalchemy import func, insert, select

from dispatch_tui.domain.public_works import sections
from dispatch_tui.storage import migrate
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import metering_point, node, outage, outage_selection, utility
from dispatch_tui.web.listing import read
from tests.web.served import free_port

Result = dict[str, Any]
HERE = Path(__file__).resolve().parent
CLIENTS = 50
REQUESTS = 8000
FEEDERS = 12


def _plan_works(path: Path) -> tuple[str, str]:
    """Approved works on the largest feeders of the utility with most metering points;
    (utility code, the settlement with most streets listed)."""
    engine = create_db_engine(f"sqlite:///{path}")
    migrate.init_database(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        uid, code = conn.execute(
            select(utility.c.id, utility.c.code)
            .join(metering_point, metering_point.c.utility_id == utility.c.id)
            .group_by(utility.c.id, utility.c.code)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        feeders = conn.scalars(
            select(node.c.id)
            .where(node.c.utility_id == uid, node.c.kind == "feeder")
            .order_by(node.c.mp_count.desc())
            .limit(FEEDERS)
        ).all()
        for i, feeder in enumerate(feeders):
            start = now + timedelta(days=1 + i % 20, hours=i % 5)
            oid = conn.execute(
                insert(outage).returning(outage.c.id),
                {
                    "utility_id": uid,
                    "title": f"bench {i}",
                    "reason": "planned maintenance of the feeder",
                    "starts_at": start,
                    "ends_at": start + timedelta(hours=4),
                    "urgent": i % 7 == 0,
                    "status": "approved",
                    "channels": ["sms"],
                    "plan": {},
                    "texts": {},
                    "created_by": "ana",
                    "approved_by": "bohdan",
                    "created_at": now,
                    "updated_at": now,
                    "approved_at": now,
                },
            ).scalar_one()
            conn.execute(
                insert(outage_selection), {"outage_id": oid, "node_id": feeder, "exclude": False}
            )
    snapshot = read(engine, now)
    engine.dispose()
    busiest = max(sections(snapshot.works[code], now), key=lambda s: len(s.lines))
    return str(code), busiest.settlement


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read(), answer.headers["Content-Type"]


async def _load(base: str, paths: list[str]) -> tuple[float, float, float]:
    """(requests per second, p99 ms, median ms) of REQUESTS GETs by CLIENTS at once."""
    latencies: list[float] = []
    queue = iter(range(REQUESTS))
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for i in queue:
                began = time.perf_counter()
                async with session.get(base + paths[i % len(paths)]) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - began)

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    return REQUESTS / elapsed, p99, statistics.median(latencies) * 1000


def web_listing(large: Path) -> Iterator[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "web.sqlite"
        shutil.copyfile(large, path)
        code, settlement = _plan_works(path)
        paths = [
            f"/{quote(code)}/?{urlencode({'settlement': settlement})}",
            f"/{quote(code)}/works.json",
            f"/{quote(code)}/calendar.ics?{urlencode({'settlement': settlement})}",
            f"/{quote(code)}/cap.atom",
        ]
        port, bare_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_TUI_")}
        env.update(
            XDG_CONFIG_HOME=str(folder / "config"),
            XDG_DATA_HOME=str(folder / "data"),
            DISPATCH_TUI_WEB_LISTEN_PORT=str(port),
        )
        command = [str(Path(sys.executable).with_name("dispatch-tui")), "web", "--database"]
        ours = subprocess.Popen(
            [*command, str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        bare = None
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base + "/health", ours)
            for i, p in enumerate(paths):
                body, content_type = _fetch(base + p)
                (folder / f"{i}.body").write_bytes(body)
                (folder / f"{i}.type").write_text(content_type)
                (folder / f"{i}.path").write_text(p)
            sizes = [len((folder / f"{i}.body").read_bytes()) for i in range(len(paths))]
            bare = subprocess.Popen(
                [sys.executable, str(HERE / "web_static.py"), str(folder), str(bare_port)]
            )
            bare_base = f"http://127.0.0.1:{bare_port}"
            _wait(bare_base + paths[0], bare)
            bare_rps, bare_p99, bare_median = asyncio.run(_load(bare_base, paths))
            rps, p99, median = asyncio.run(_load(base, paths))
        finally:
            for process in (ours, bare):
                if process is not None:
                    process.terminate()
                    process.wait(15)
    yield {
        "benchmark": "web-listing",
        "settlement": settlement,
        "bytes_page_json_ics_cap": sizes,
        "clients": CLIENTS,
        "requests": REQUESTS,
        "requests_per_s": round(rps),
        "p99_ms": round(p99, 1),
        "median_ms": round(median, 1),
        "bare_aiohttp_requests_per_s": round(bare_rps),
        "bare_p99_ms": round(bare_p99, 1),
        "bare_median_ms": round(bare_median, 1),
        "ratio_to_bare": round(rps / bare_rps, 2),
        "goal_ratio": 0.5,
        "goal_p99_ms": 100,
        "ok": rps / bare_rps >= 0.5 and p99 <= 100,
    }
