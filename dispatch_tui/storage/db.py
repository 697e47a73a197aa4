"""Opening the database: one engine per process, the same code for SQLite
and PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Python's
sqlite3 module starts transactions lazily and only before DML, which breaks
`SELECT … FOR UPDATE`-style claims; we take transaction control back (the
recipe in SQLAlchemy's pysqlite docs) so that `write_transaction()` issues
`BEGIN IMMEDIATE` and takes the write lock up front instead of failing with
"database is locked" half-way through.

When a database cannot be used (unreachable, locked, not a database, no
directory for it), `explain` turns the driver's error into one line that
names the database, password hidden, and says what to do.

A SQLite database is one trust domain: whoever can write the file can do
anything. So the directory we make for it and the file itself never get
world bits: 0700/0600, or 2770/0660 owned by `database.group` when a team
shares it (setgid, so the -wal/-shm files any member's process makes keep
the group). SQLite gives -wal and -shm the database file's mode, which is
why the file is made with its mode before SQLite first opens it.
"""

from __future__ import annotations

import grp
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    exc,
    func,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join

BEGIN_MODE = "dispatch_begin"
SETTING = "database.url (or DISPATCH_TUI_DATABASE_URL)"
"""Where a person chooses the database, named in messages about it."""


class DatabaseError(Exception):
    """A database problem explained for a person (which database, what to do)."""


def shown(url: str | URL) -> str:
    """The URL as it may be shown or logged: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def create_db_engine(
    url: str,
    *,
    busy_timeout_ms: int = 5000,
    echo: bool = False,
    chosen_by: str = SETTING,
    group: str = "",
) -> Engine:
    """An engine for `url` with our connection settings applied; a SQLite
    file's directory is made if missing (`chosen_by` names what to change
    when it cannot be), and the directory and file we make are private to
    their owner, or to `group` when one is given."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        in_file = bool(parsed.database) and parsed.database != ":memory:"
        gid = _group_id(group) if in_file else None
        if in_file:
            _make_directory(Path(str(parsed.database)).parent, parsed, chosen_by, gid)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            poolclass=NullPool if not in_file else None,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        if in_file:
            _create_file_first(engine, Path(str(parsed.database)), parsed, gid)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed, echo=echo, pool_pre_ping=True, connect_args={"options": _pg_options(parsed)}
        )
    raise DatabaseError(f"unsupported database {shown(parsed)}: use sqlite or postgresql")


PG_SESSION = "-c jit=off"
"""Our statements are short; JIT compiling one costs more than running it. Once
autovacuum had analyzed a 20,000-message outbox, PostgreSQL compiled the send
loop's claim every time: 123 ms of a 139 ms claim that runs in 15 without."""


def _pg_options(url: URL) -> str:
    """Our session settings after any the URL gives (`?options=…`)."""
    given = url.query.get("options", "")
    given = given if isinstance(given, str) else " ".join(given)
    return f"{given} {PG_SESSION}".strip()


GROUP_SETTING = "database.group (or DISPATCH_TUI_DATABASE_GROUP)"


def _group_id(group: str) -> int | None:
    """The id of `group`; None for no group (files private to their owner)."""
    if not group:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise DatabaseError(
            f"there is no group '{group}' on this machine: create it, or change {GROUP_SETTING}"
        ) from None


def _make_directory(directory: Path, url: URL, chosen_by: str, gid: int | None) -> None:
    """Make the database's directory if missing: 0700, or 2770 for group `gid`.
    An existing directory is left as its owner set it up."""
    if directory.is_dir():
        return
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700)
    except OSError as error:
        if isinstance(error, FileExistsError) and directory.is_dir():
            return  # made by another process meanwhile, which set its mode
        raise DatabaseError(
            f"cannot create the directory {directory} for the database {shown(url)}: "
            f"{error.strerror or error}; choose another place with {chosen_by}"
        ) from error
    _share(directory, url, gid, 0o700, 0o2770)


def _share(path: Path | int, url: URL, gid: int | None, private: int, shared: int) -> None:
    """Set the mode of a path (or open file) we just made; hand it to group `gid` if any.
    Explicit, because mkdir and open leave the umask's mark (0750 for 0770 under 022)."""
    try:
        if gid is not None:
            os.chown(path, -1, gid)
        os.chmod(path, private if gid is None else shared)
    except OSError as error:
        where = f"the directory {path}" if isinstance(path, Path) else "the file"
        raise DatabaseError(
            f"cannot give {where} of the database {shown(url)} to its group: "
            f"{error.strerror or error}; run as a member of that group, or change "
            f"{GROUP_SETTING}"
        ) from error


def _create_file_first(engine: Engine, path: Path, url: URL, gid: int | None) -> None:
    """Before each connection: if the database file does not exist yet, make it
    empty (SQLite takes an empty file as a new database) with its final mode, so
    neither it nor the -wal/-shm files SQLite copies that mode to are ever
    readable by others."""

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        try:
            _create_private_file(path, url, gid)
        except OSError:
            return  # it exists, or SQLite will fail to open it and say why


def _create_private_file(path: Path, url: URL, gid: int | None) -> None:
    """Make the empty file `path` (OSError if it exists) with a database file's mode:
    0600, or 0660 for group `gid`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        _share(fd, url, gid, 0o600, 0o660)
    except DatabaseError:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def create_database_file(path: Path, url: str | URL, group: str) -> None:
    """Make the empty file `path` with the mode the database at `url` gets (0600, or 0660
    for `group`): for a copy of it, which holds the same data. OSError if it exists."""
    _create_private_file(path, make_url(url), _group_id(group))


def explain(error: BaseException, url: str | URL, *, busy_timeout_ms: int) -> str | None:
    """One line for a person about a database that cannot be used (which
    one, what happened, what to do), or None when `error` is not that kind
    of trouble: a bug keeps its traceback.

    Errors raised while a connection is being set up (our SQLite pragmas)
    reach us unwrapped, so plain sqlite3 errors are understood too.
    """
    where = shown(url)
    original = error.orig if isinstance(error, exc.DBAPIError) else error
    if isinstance(original, sqlite3.Error):
        return _explain_sqlite(original, where, busy_timeout_ms)
    if isinstance(error, exc.OperationalError):
        reason = _first_line(str(original))
        if error.statement is None:  # raised while connecting, before any statement
            cause = reason.rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
            return (
                f"cannot connect to the database {where} ({cause}): check that the server "
                f"runs and accepts connections there, and that {SETTING} is right"
            )
        return f"the database {where} failed: {reason}; check the server and try again"
    return None


def _explain_sqlite(error: sqlite3.Error, where: str, busy_timeout_ms: int) -> str | None:
    text = str(error)
    if "locked" in text or "busy" in text:
        return (
            f"the database {where} is locked by another process (waited "
            f"{busy_timeout_ms / 1000:g} s): try again when it is done, or raise "
            "database.busy_timeout_ms"
        )
    if "not a database" in text or "encrypted" in text:
        return (
            f"{where} is not a SQLite database ({text}): point {SETTING} at a "
            "dispatch-tui database, or at a new file and run `dispatch-tui init`"
        )
    if "malformed" in text:
        return f"the database {where} is damaged ({text}): restore it from a backup"
    if "unable to open" in text:
        return (
            f"cannot open the database {where} ({text}): check that the path is right and "
            "that this user may read and write it and its directory"
        )
    if "readonly" in text:
        return (
            f"the database {where} is read-only for this user ({text}): "
            "check the permissions of the file and its directory"
        )
    if "disk" in text or "full" in text:
        return f"the database {where} cannot be written ({text}): check the disk"
    if isinstance(error, sqlite3.OperationalError):
        return f"the database {where} failed: {_first_line(text)}"
    return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


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
    insert. On PostgreSQL they go as one array per column into one
    `INSERT … SELECT FROM unnest(…)`: one statement, where an executemany
    runs one INSERT per row in the server (10 of the 24 s of a 122k-message
    fan-out). With `unless_conflict` (the columns of a unique key), rows
    already present are skipped.
    """
    if not rows:
        return
    conflict = f" ON CONFLICT ({', '.join(unless_conflict)}) DO NOTHING" if unless_conflict else ""
    if is_sqlite(conn):
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        conn.exec_driver_sql(sql + conflict, list(rows))
        return
    arrays: dict[str, list[Any]] = {}
    casts = []
    for i, name in enumerate(columns):
        column = table.c[name]
        arrays[f"c{i}"] = [row[i] for row in rows]
        # Strings as text[]: a column's COLLATE clause has no place in an array cast.
        element = "text" if isinstance(column.type, String) else column.type.compile(conn.dialect)
        casts.append(f"%(c{i})b::{element}[]")
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({', '.join(casts)}){conflict}"
    )
    conn.exec_driver_sql(sql, arrays)


def among(
    conn: Connection, column: ColumnElement[Any], values: Sequence[Any] | Select[Any]
) -> ColumnElement[bool]:
    """`column IN values`, for a long list (a batch of ids) or a query of a few
    thousand rows, looked up one by one in `column`'s index.

    On PostgreSQL a list is one array parameter, `= ANY(…)`, since psycopg parses
    a statement of thousands of placeholders afresh each time (2 s of a
    122k-message fan-out); a query becomes `= ANY(ARRAY(query))`, since for a
    join or `IN` the planner, costing random reads at four sequential ones,
    hashed a 5,000-row query against the whole indexed table (1M rows, 170 ms
    against 7). SQLite looks an `IN` up by index either way."""
    if is_sqlite(conn):
        return column.in_(values)
    if isinstance(values, Select):
        return column == any_(func.array(values.scalar_subquery()))
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


class LeftFirst(Join):
    """An inner join whose left side SQLite must loop over outside (a CROSS JOIN,
    SQLite's documented way to fix the join order), where its planner would
    otherwise start from the side without the narrowing condition. PostgreSQL
    plans it as any join."""

    inherit_cache = True


@compiles(LeftFirst, "sqlite")
def _cross_join(join: LeftFirst, compiler: SQLCompiler, from_linter: Any = None, **kw: Any) -> str:
    kw.pop("asfrom", None)
    assert join.onclause is not None
    if from_linter:
        from_linter.edges.add((join.left, join.right))
    return (
        join.left._compiler_dispatch(compiler, asfrom=True, from_linter=from_linter, **kw)
        + " CROSS JOIN "
        + join.right._compiler_dispatch(compiler, asfrom=True, from_linter=from_linter, **kw)
        + " ON "
        + join.onclause._compiler_dispatch(compiler, from_linter=from_linter, **kw)
    )


def db_value(conn: Connection, column: ColumnElement[Any], value: Any) -> Any:
    """`value` as the driver wants it for `column` (e.g. a UTC timestamp on
    SQLite), converted once for rows handed to `insert_rows`, which passes
    them to the driver as they are."""
    process = column.type.bind_processor(conn.dialect)
    return process(value) if process else value
