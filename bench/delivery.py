"""Delivery benchmarks: fan-out of a 100k-subscriber notice on the large demo
database, and the engine's send loop against a fast local gateway beside a
raw aiohttp client sending the same count to the same gateway."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import Engine, func, insert, select, text

from bench import pg
from dispatch_tui.config import load_settings
from dispatch_tui.engine.delivery import DeliveryTuning
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.kannel import KannelSender
from dispatch_tui.storage import fanout, migrate
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import message, node, notice, outage_selection
from tests.engine.factory import approved_notice, make_outbox

Result = dict[str, Any]
HERE = Path(__file__).resolve().parent


@contextmanager
def _scratch_copy(backend: str, large: Callable[[], Path | str]) -> Iterator[Engine]:
    """A copy of the large demo to write into: a file copy, or a database cloned from it."""
    if backend == "postgresql":
        large()
        url = pg.fresh_database("bench_fanout", template=pg.LARGE)
        engine = create_db_engine(url)
        yield engine
        engine.dispose()
        pg.drop_database("bench_fanout")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fanout.sqlite"
        shutil.copyfile(large(), path)
        engine = create_db_engine(f"sqlite:///{path}")
        migrate.init_database(engine)
        yield engine
        engine.dispose()


@contextmanager
def _scratch(backend: str) -> Iterator[Engine]:
    """An empty, migrated database."""
    if backend == "postgresql":
        engine = create_db_engine(pg.fresh_database("bench_deliver"))
        yield engine
        engine.dispose()
        pg.drop_database("bench_deliver")
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(f"sqlite:///{tmp}/deliver.sqlite")
        migrate.init_database(engine)
        yield engine
        engine.dispose()


def fanout_bench(
    large: Callable[[], Path | str], backend: str = "sqlite", target: int = 100_000
) -> Iterator[Result]:
    with _scratch_copy(backend, large) as engine:
        notice_id, subscribers = _big_notice(engine, target)
        start = time.perf_counter()
        result = fanout.fan_out(engine, notice_id, owner="bench")
        seconds = time.perf_counter() - start
        assert result is not None
        again = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(notice.update().values(status="scheduled"))
        repeat = fanout.fan_out(engine, notice_id, owner="bench")
        repeat_seconds = time.perf_counter() - again
    yield {
        "benchmark": "fanout",
        "database": backend,
        "subscribers": result.subscribers,
        "messages": result.messages,
        "seconds": round(seconds, 2),
        "repeat_seconds_all_conflicting": round(repeat_seconds, 2),
        "repeat_new_messages": 0 if repeat is None else repeat.messages - result.messages,
        "goal_seconds": 10,
        "ok": seconds <= 10 and subscribers >= target * 0.95,
    }


def _big_notice(engine: Engine, target: int) -> tuple[int, int]:
    """An approved outage on substations of one utility adding up to ~`target` subscribers."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        regions = conn.execute(
            select(node.c.id, node.c.utility_id, node.c.subscriber_count)
            .where(node.c.kind == "substation")
            .order_by(node.c.utility_id, node.c.subscriber_count.desc())
        ).all()
        best = max(
            {r.utility_id for r in regions},
            key=lambda u: sum(r.subscriber_count for r in regions if r.utility_id == u),
        )
        chosen, total = [], 0
        for r in regions:
            if r.utility_id == best and total < target:
                chosen.append(r.id)
                total += r.subscriber_count
        oid, nid = approved_notice(
            conn,
            best,
            ["sms", "email", "telegram", "viber"],
            starts_in=timedelta(days=3),
            hours=4,
            notice_status="scheduled",
            now=now,
        )
        conn.execute(
            insert(outage_selection),
            [{"outage_id": oid, "node_id": n, "exclude": False} for n in chosen],
        )
    return int(nid), total


def _start_gateway(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp / "port"
    proc = subprocess.Popen([sys.executable, str(HERE / "gateway.py"), str(port_file)])
    deadline = time.monotonic() + 10
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("bench gateway did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}/cgi-bin/sendsms"


async def _raw_client(url: str, count: int, in_flight: int) -> float:
    """The baseline: aiohttp GETs of the same shape, `in_flight` at a time, no database."""
    params = {"username": "u", "password": "p", "from": "ELEKTRO", "to": "+38640111222"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:
        queue = iter(range(count))

        async def worker() -> None:
            for i in queue:
                async with session.get(url, params={**params, "text": f"m{i}"}) as response:
                    assert response.status == 202
                    await response.read()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return time.perf_counter() - start


async def _engine_run(db: Engine, url: str, count: int, tuning: DeliveryTuning) -> float:
    settings = load_settings(env={"DISPATCH_TUI_SMS_RATE": "10000"}, user_file=Path("/none"))
    sender = KannelSender(url=url, username="u", password="p", dlr_url=None)
    engine = DeliveryEngine(db, settings, senders={"sms": sender}, tuning=tuning)
    start = time.perf_counter()
    await engine.start()
    worker = engine.workers["sms"]
    while worker.sent < count:
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - start
    await engine.stop()
    return seconds


def deliver_bench(backend: str = "sqlite", count: int = 20_000) -> Iterator[Result]:
    tuning = DeliveryTuning(batch=200, concurrency=50, pipelines=2, idle=0.05)
    with tempfile.TemporaryDirectory() as tmp:
        gateway, url = _start_gateway(Path(tmp))
        try:
            raw_seconds = asyncio.run(_raw_client(url, count, tuning.concurrency))
            with _scratch(backend) as db:
                notice_id = make_outbox(db, count)
                if backend == "postgresql":
                    # As autovacuum would within a minute of such a write: with statistics
                    # the planner costs the claim at over JIT's threshold.
                    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.exec_driver_sql("ANALYZE message")
                ours = asyncio.run(_engine_run(db, url, count, tuning))
                sent = _sent(db, notice_id)
        finally:
            gateway.terminate()
            gateway.wait(10)
    rate, raw_rate = count / ours, count / raw_seconds
    yield {
        "benchmark": "deliver",
        "database": backend,
        "messages": count,
        "recorded_sent": sent,
        "msg_per_s": round(rate),
        "raw_aiohttp_msg_per_s": round(raw_rate),
        "ratio_to_raw": round(rate / raw_rate, 2),
        "goal_msg_per_s": 1000,
        "goal_ratio": 0.5,
        "ok": rate >= 1000 and rate / raw_rate >= 0.5 and sent == count,
    }


def _sent(db: Engine, notice_id: int) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    message.c.notice_id == notice_id, message.c.status == "sent"
                )
            ).scalar_one()
        )


def _deadlocks(db: Engine) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        )


class _Errors(logging.Handler):
    """Keeps the messages of the errors logged while it is installed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def lease_deadlock_bench(count: int = 100_000) -> Iterator[Result]:
    """Issue 15: during a 122k send on PostgreSQL the heartbeat's lease renewal and
    the result recording deadlocked. The engine sends `count` messages with
    3-second leases (renewed every second) to the local gateway; PostgreSQL's
    own deadlock counter, its log (when the benchmark started the server) and
    the engine's log must show none. tests/storage/test_lease_deadlock.py runs
    the same race, scaled down, in the suite."""
    tuning = DeliveryTuning(
        batch=200, concurrency=50, pipelines=2, idle=0.05, lease=timedelta(seconds=3)
    )
    log = pg.server_log()
    log_start = log.stat().st_size if log else 0
    handler = _Errors()
    logging.getLogger().addHandler(handler)
    with tempfile.TemporaryDirectory() as tmp:
        gateway, url = _start_gateway(Path(tmp))
        try:
            with _scratch("postgresql") as db:
                notice_id = make_outbox(db, count)
                before = _deadlocks(db)
                seconds = asyncio.run(_engine_run(db, url, count, tuning))
                deadlocks = _deadlocks(db) - before
                sent = _sent(db, notice_id)
        finally:
            gateway.terminate()
            gateway.wait(10)
            logging.getLogger().removeHandler(handler)
    in_log = 0
    if log:
        with log.open("rb") as f:
            f.seek(log_start)
            in_log = f.read().count(b"deadlock detected")
    engine_errors = handler.messages
    yield {
        "benchmark": "lease-deadlock",
        "database": "postgresql",
        "messages": count,
        "recorded_sent": sent,
        "lease_seconds": tuning.lease.total_seconds(),
        "seconds": round(seconds, 1),
        "deadlocks": deadlocks,
        "deadlocks_in_server_log": in_log if log else "server log not ours",
        "engine_errors": len(engine_errors),
        "first_engine_error": engine_errors[0][:200] if engine_errors else "",
        "ok": deadlocks == 0 and in_log == 0 and not engine_errors and sent == count,
    }
