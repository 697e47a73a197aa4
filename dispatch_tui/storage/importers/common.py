"""What every importer shares: the summary, utility lookup, upserts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit
from dispatch_tui.storage.tables import app_user, utility
from dispatch_tui.storage.users import refusal_for

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as an import advances."""

BATCH = 20_000
CHUNK = 5_000
"""Rows compared with the database per query: IN lists this long stay far
below every backend's parameter limit, and memory stays bounded."""
ENTITY_ID = 64
"""Length of audit_log.entity_id."""

T = TypeVar("T")


class ImportRefused(Exception):
    """The person may not import; the database is unchanged."""


def check_importer(conn: Connection, actor: str) -> None:
    """Raise ImportRefused unless `actor` may import: an admin, or anyone while the
    database has no operators at all (it is being set up: `init`, imports, then
    `init --admin`). Called first inside the import's write transaction, so a role
    taken away a moment ago counts."""
    if not conn.execute(select(exists().select_from(app_user))).scalar():
        return
    refusal = refusal_for(conn, actor, Action.IMPORT_DATA)
    if refusal is not None:
        raise ImportRefused(f"{refusal}; nothing was imported")


@dataclass(frozen=True)
class ImportSummary:
    kind: str
    rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated

    def record(
        self, conn: Connection, *, actor: str, source: str, extra: dict[str, Any] | None = None
    ) -> ImportSummary:
        """Write this import to the audit log (inside the import's transaction), with
        `extra` facts of its kind (a snapshot's utility and moment) in the detail.

        The entity id column is short, so a long file name is cut there and
        kept whole in the detail."""
        entity_id = source if len(source) <= ENTITY_ID else source[: ENTITY_ID - 1] + "…"
        audit.append(
            conn,
            actor=actor,
            action="import",
            entity=self.kind,
            entity_id=entity_id,
            detail={
                "file": source,
                "rows": self.rows,
                "inserted": self.inserted,
                "updated": self.updated,
                **(extra or {}),
            },
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


def one_of(
    conn: Connection, column: ColumnElement[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL one array parameter, since
    thousands of separate parameters cost more to send than the lookup."""
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(list(values))


def file_label(path: Path) -> str:
    """The file's name as text every database stores: a name that is not
    valid UTF-8 (possible on Linux) shows its odd bytes as \\xNN."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def parse_flag(value: str) -> bool | None:
    """CSV booleans as spreadsheets write them; None when unrecognised."""
    folded = value.strip().lower()
    if folded in ("", "0", "no", "n", "false", "ne", "ні", "не"):
        return False
    if folded in ("1", "yes", "y", "true", "da", "так", "да", "x"):
        return True
    return None
