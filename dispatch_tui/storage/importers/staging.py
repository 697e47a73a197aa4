"""Validated rows parked on disk between validating a file and writing it.

A million parsed rows held as Python objects take many times the file's
size. A private SQLite file in the temp directory holds them instead, in
memory bounded by its page cache; it finds duplicate keys through an index
and hands the rows back in chunks. It belongs to one import and is deleted
with it, whichever database the import writes to.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from dispatch_tui.storage.importers.common import CHUNK

CACHE_KIB = 16 * 1024


class Staging:
    """Tables named by the caller, each with `line` as its first column."""

    def __init__(self, tables: Mapping[str, Sequence[str]]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="dispatch-import-")
        self._db = sqlite3.connect(Path(self._dir.name) / "staging.sqlite", isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{CACHE_KIB}"):
            self._db.execute(f"PRAGMA {pragma}")
        self._columns = {name: ("line", *columns) for name, columns in tables.items()}
        self._pending: dict[str, list[tuple[Any, ...]]] = {name: [] for name in tables}
        for name, columns in self._columns.items():
            self._db.execute(f"CREATE TABLE {name} ({', '.join(columns)})")

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._db.close()
        self._dir.cleanup()

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        """Stage (line, *values); written in batches."""
        pending = self._pending[table]
        pending.append(row)
        if len(pending) >= CHUNK:
            self._flush(table)

    def _flush(self, table: str) -> None:
        pending = self._pending[table]
        if pending:
            marks = ", ".join("?" * len(self._columns[table]))
            with self._db:  # one transaction per batch, not one per row
                self._db.execute("BEGIN")
                self._db.executemany(f"INSERT INTO {table} VALUES ({marks})", pending)
            pending.clear()

    def flush(self) -> None:
        """Write what is still buffered (before reading the tables back)."""
        for table in self._pending:
            self._flush(table)

    def index(self, table: str, columns: Sequence[str]) -> None:
        self._db.execute(
            f"CREATE INDEX {table}_{'_'.join(columns)} ON {table} ({', '.join(columns)})"
        )

    def duplicates(self, table: str, key: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """(line, *key, first line) of every row whose non-null key an
        earlier row already had."""
        self.flush()
        self.index(table, [*key, "line"])
        columns = ", ".join(key)
        matches = " AND ".join(f"t.{name} = d.{name}" for name in key)
        present = " AND ".join(f"{name} IS NOT NULL" for name in key)
        yield from self._db.execute(
            f"SELECT t.line, {', '.join(f't.{name}' for name in key)}, d.first"
            f" FROM (SELECT {columns}, min(line) AS first FROM {table} WHERE {present}"
            f" GROUP BY {columns} HAVING count(*) > 1) AS d"
            f" JOIN {table} AS t ON {matches} WHERE t.line <> d.first"
        )

    def chunks(
        self, sql: str, params: Sequence[Any] = (), size: int = CHUNK
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a query over the staged tables, `size` at a time."""
        self.flush()
        cursor = self._db.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield rows
