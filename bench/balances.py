"""The balances import (issue 14): a 200,000-row billing snapshot into a database
with as many Bulgarian subscribers, beside the same rows inserted by a raw
`sqlite3` executemany in the same run."""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dispatch_tui.storage.importers import import_file

GOAL_ROWS_PER_S = 20_000
"""A 200,000-row snapshot (Electrohold's size) within 10 s."""


def _subscribers(path: Path, rows: int) -> list[str]:
    """A utility and `rows` subscribers written straight into the database."""
    accounts = [f"3{n:011d}" for n in range(1, rows + 1)]
    db = sqlite3.connect(str(path))
    with db:
        db.execute(
            "INSERT INTO utility (id, code, name, country, timezone, language, contact_phone,"
            " sms_sender) VALUES (1, 'EH', 'Electrohold', 'BG', 'Europe/Sofia', 'bg',"
            " '0700 10 010', '170077')"
        )
        db.executemany(
            "INSERT INTO subscriber (id, utility_id, account, name, language, created_at)"
            " VALUES (?, 1, ?, '', 'bg', '2026-01-01 00:00:00.000000')",
            list(enumerate(accounts, 1)),
        )
    db.close()
    return accounts


def import_balances_bench(
    fresh_engine: Callable[[Path], Engine], rows: int = 200_000
) -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        engine = fresh_engine(directory / "ours.sqlite")
        engine.dispose()
        accounts = _subscribers(directory / "ours.sqlite", rows)
        rng = random.Random(14)
        raw_rows: list[tuple[Any, ...]] = []
        snapshot = directory / "balances.csv"
        with snapshot.open("w", encoding="utf-8") as out:
            out.write("account;amount;currency;due_date;last_payment_date\n")
            for sid, account in enumerate(accounts, 1):
                minor, day = rng.randrange(0, 50_000), rng.randrange(1, 28)
                out.write(f"{account};{minor // 100},{minor % 100:02d};BGN;{day}.12.2026;\n")
                raw_rows.append((1, sid, minor, "BGN", f"2026-12-{day:02d}", None))
        start = time.perf_counter()
        summary = import_file(engine, "balances", snapshot, actor="bench")
        ours = time.perf_counter() - start
        engine.dispose()
        assert summary.inserted == rows

        raw = sqlite3.connect(str(directory / "ours.sqlite"))
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        start = time.perf_counter()
        with raw:
            raw.execute("DELETE FROM balance")
            raw.execute(
                "INSERT INTO balance_snapshot (id, utility_id, as_of, imported_at, imported_by,"
                " source, rows) VALUES (99, 1, ?, ?, 'raw', 'raw', ?)",
                (str(datetime.now(UTC)), str(datetime.now(UTC)), rows),
            )
            raw.executemany(
                "INSERT INTO balance (snapshot_id, subscriber_id, amount_minor, currency,"
                " due_date, last_payment_date) VALUES (99, ?, ?, ?, ?, ?)",
                [row[1:] for row in raw_rows],
            )
        baseline = time.perf_counter() - start
        raw.close()
    rate = rows / ours
    yield {
        "benchmark": "import-balances",
        "rows": rows,
        "seconds": round(ours, 2),
        "rows_per_s": round(rate),
        "raw_executemany_rows_per_s": round(rows / baseline),
        "ratio_to_raw": round(rate / (rows / baseline), 2),
        "goal_rows_per_s": GOAL_ROWS_PER_S,
        "ok": rate >= GOAL_ROWS_PER_S,
    }
