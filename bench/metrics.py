"""The metrics scrape on a big outbox: every figure is read from the database at
the scrape, so its cost grows with the message table. A million messages, as a
few years of a utility's notices leave them (85 % delivered, 8 % sent, 2 %
failed, 1 % retrying, 4 % pending), sent 100 a second: 90,000 of them in the
last 15 minutes, whose report lag is read. Measured beside the
plainest query a scrape needs (raw `sqlite3` counting messages by channel and
state) in the same run."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from sqlalchemy import Engine, insert, text

from dispatch_tui.engine import metrics
from dispatch_tui.storage.tables import utility
from tests.engine.factory import approved_notice

Result = dict[str, Any]
GOAL_MS = 1000

FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO message (notice_id, channel, address, language, body, segments, status,
    attempts, next_attempt_at, expires_at, created_at, sent_at, delivered_at, last_error)
SELECT :notice,
    CASE i % 4 WHEN 0 THEN 'sms' WHEN 1 THEN 'email' WHEN 2 THEN 'telegram' ELSE 'viber' END,
    '+3864' || i, 'sl', 'Načrtovan izklop', 1,
    CASE WHEN i % 100 < 85 THEN 'delivered' WHEN i % 100 < 93 THEN 'sent'
         WHEN i % 100 < 95 THEN 'failed' WHEN i % 100 < 96 THEN 'retry_wait'
         ELSE 'pending' END,
    1, datetime(:now, -(i / 100) || ' seconds'), :expires, datetime(:now, -(i / 100) || ' seconds'),
    CASE WHEN i % 100 < 95 THEN datetime(:now, -(i / 100) || ' seconds') END,
    CASE WHEN i % 100 < 85 THEN datetime(:now, (5 - i / 100) || ' seconds') END,
    CASE WHEN i % 100 BETWEEN 93 AND 95 THEN 'answered 400 Number ' || (i % 37) || ' denied' END
FROM n
"""


def _outbox(engine: Engine, count: int) -> None:
    now = datetime.now(UTC)
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    with engine.begin() as conn:
        uid = conn.execute(
            insert(utility).returning(utility.c.id),
            {
                "code": "M",
                "name": "Metrics",
                "country": "SI",
                "timezone": "Europe/Ljubljana",
                "language": "sl",
                "contact_phone": "080 21 00",
                "sms_sender": "ELEKTRO",
            },
        ).scalar_one()
        _, notice_id = approved_notice(
            conn,
            uid,
            ["sms", "email", "telegram", "viber"],
            starts_in=timedelta(days=3),
            hours=4,
            notice_status="done",
            now=now,
        )
        naive = now.replace(tzinfo=None)
        conn.execute(
            text(FILL),
            {
                "count": count,
                "notice": notice_id,
                "now": naive.strftime(stamp),
                "expires": (naive + timedelta(days=3)).strftime(stamp),
            },
        )


def metrics_bench(fresh: Callable[[Path], Engine], count: int = 1_000_000) -> Iterator[Result]:
    from bench.benchmarks import timed

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "metrics.sqlite"
        engine = fresh(path)
        _outbox(engine, count)
        registry = metrics.registry(engine)
        scrape_ms = timed(lambda: generate_latest(registry), runs=5)
        raw = sqlite3.connect(path)
        baseline_ms = timed(
            lambda: raw.execute(
                "SELECT channel, status, count(*) FROM message GROUP BY channel, status"
            ).fetchall(),
            runs=5,
        )
        raw.close()
        engine.dispose()
    yield {
        "benchmark": "metrics",
        "messages": count,
        "scrape_ms": round(scrape_ms, 1),
        "baseline_count_by_state_ms": round(baseline_ms, 1),
        "ratio": round(scrape_ms / baseline_ms, 2),
        "goal_ms": GOAL_MS,
        "ok": scrape_ms <= GOAL_MS,
    }
