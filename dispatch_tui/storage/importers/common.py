"""What every importer shares: the summary, utility lookup, upserts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from dispatch_tui.storage import audit
from dispatch_tui.storage.tables import utility

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as an import advances."""

BATCH = 20_000


@dataclass(frozen=True)
class ImportSummary:
    kind: str
    rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated

    def record(self, conn: Connection, *, actor: str, source: str) -> ImportSummary:
        """Write this import to the audit log (inside the import's transaction)."""
        audit.append(
            conn,
            actor=actor,
            action="import",
            entity=self.kind,
            entity_id=source,
            detail={"rows": self.rows, "inserted": self.inserted, "updated": self.updated},
        )
        return self

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.rows} rows — {self.inserted} new, {self.updated} changed, "
            f"{self.unchanged} unchanged"
        )


@dataclass(frozen=True)
class UtilityRef:
    id: int
    code: str
    country: str


def load_utilities(conn: Connection) -> dict[str, UtilityRef]:
    rows = conn.execute(select(utility.c.id, utility.c.code, utility.c.country))
    return {code: UtilityRef(id_, code, country) for id_, code, country in rows}


def upsert(table: Table, conn: Connection, keys: list[str], update: list[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE only where a value differs, so
    re-importing an unchanged file touches no row."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    changed = [table.c[name].is_distinct_from(stmt.excluded[name]) for name in update]
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in update},
        where=or_(*changed),
    )


def batches(rows: list[dict[str, Any]], size: int = BATCH) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def parse_flag(value: str) -> bool | None:
    """CSV booleans as spreadsheets write them; None when unrecognised."""
    folded = value.strip().lower()
    if folded in ("", "0", "no", "n", "false", "ne", "ні", "не"):
        return False
    if folded in ("1", "yes", "y", "true", "da", "так", "да", "x"):
        return True
    return None
