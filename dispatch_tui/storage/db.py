"""Opening the database: one engine per process, the same code for SQLite
and PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Python's
sqlite3 module starts transactions lazily and only before DML, which breaks
`SELECT … FOR UPDATE`-style claims; we take transaction control back (the
recipe in SQLAlchemy's pysqlite docs) so that `write_transaction()` issues
`BEGIN IMMEDIATE` and takes the write lock up front instead of failing with
"database is locked" half-way through.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

BEGIN_MODE = "dispatch_begin"


class DatabaseError(Exception):
    """A database problem explained for a person (which database, what to do)."""


def create_db_engine(url: str, *, busy_timeout_ms: int = 5000, echo: bool = False) -> Engine:
    """An engine for `url` with our connection settings applied."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            poolclass=NullPool if parsed.database in (None, "", ":memory:") else None,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    raise DatabaseError(
        f"unsupported database {parsed.render_as_string()}: use sqlite or postgresql"
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_MODE, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from
    its first statement, so concurrent writers wait instead of deadlocking."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{BEGIN_MODE: "IMMEDIATE"})
        with conn.begin():
            yield conn


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    unless_conflict: Sequence[str] = (),
) -> None:
    """Bulk INSERT of plain values (str, int, bool, None: no type conversion;
    pass other values through `db_value` first).

    On SQLite the rows go straight to the driver's executemany: SQLAlchemy's
    per-row parameter processing costs nearly as much as SQLite's own
    insert. PostgreSQL goes through SQLAlchemy, whose multi-row VALUES
    batching beats the driver's executemany there. With `unless_conflict`
    (the columns of a unique key), rows already present are skipped.
    """
    if not rows:
        return
    if is_sqlite(conn):
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        if unless_conflict:
            sql += f" ON CONFLICT ({', '.join(unless_conflict)}) DO NOTHING"
        conn.exec_driver_sql(sql, list(rows))
        return
    stmt = postgresql.insert(table)
    if unless_conflict:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(unless_conflict))
    conn.execute(stmt, [dict(zip(columns, row, strict=True)) for row in rows])


def db_value(conn: Connection, column: ColumnElement[Any], value: Any) -> Any:
    """`value` as the driver wants it for `column` (e.g. a UTC timestamp on
    SQLite), converted once for rows handed to `insert_rows`. PostgreSQL
    rows still go through SQLAlchemy, so they keep the Python value."""
    if not is_sqlite(conn):
        return value
    process = column.type.bind_processor(conn.dialect)
    return process(value) if process else value
