"""A verified copy of a SQLite database, taken while the app and engines keep writing.

SQLite's online backup API copies the database in one step, inside one read
transaction: in WAL mode writers go on meanwhile and the copy is the database as it was
at one moment. The copy is written beside its destination under a temporary name with
the database's own mode (0600, or 0660 for `database.group`: it holds the same data),
opened, checked (`PRAGMA quick_check`, the schema revision, the keyed audit chain
against the anchors of the rows it holds), and only then moved into place, so `PATH`
is never a half-written or unchecked file. An existing `PATH` is replaced only when
asked.

Anyone who can read the database file can copy it, so a role would guard nothing here;
but the backup is recorded in the audit log (who, where to) before the copy is taken,
so the copy holds its own record, and whoever runs it must be an operator.

PostgreSQL databases are copied with `pg_dump` (README, "Backup and restore").
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit, audit_anchor, migrate
from dispatch_tui.storage.db import (
    create_database_file,
    create_db_engine,
    is_sqlite,
    write_transaction,
)
from dispatch_tui.storage.tables import (
    audit_log,
    contact,
    delivery_event,
    message,
    metering_point,
    outage,
    subscriber,
)
from dispatch_tui.storage.users import refusal_for

ACTION = "backup"
COUNTED = {
    "metering points": metering_point,
    "subscribers": subscriber,
    "contacts": contact,
    "outages": outage,
    "messages": message,
    "delivery events": delivery_event,
    "audit rows": audit_log,
}
"""What the report counts in the copy."""
POSTGRESQL = (
    "backup copies SQLite databases; back up PostgreSQL with pg_dump -Fc and restore with "
    "pg_restore into a new database (README, 'Backup and restore': roles are cluster-wide)"
)


class BackupError(Exception):
    """The backup was refused or failed; `str()` says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    seconds: float
    revision: str | None
    counts: dict[str, int]
    audit: audit.VerifyResult | None
    """The copy's audit chain, or None when this account may not read the key."""
    audit_note: str = ""
    """Why the chain was not verified."""

    def text(self) -> str:
        counts = ", ".join(f"{n:,} {what}" for what, n in self.counts.items())
        lines = [
            f"backup written to {self.path} ({self.bytes / 1e6:,.1f} MB in "
            f"{self.seconds:.1f} s, schema {self.revision}): {counts}",
            f"copy's {self.audit.message}" if self.audit is not None else self.audit_note,
        ]
        return "\n".join(lines)


def readable_key(path: Path) -> tuple[bytes | None, str]:
    """The audit key for verifying a copy, or None and why not: an operator on a shared
    host may not read it, and the copy is still worth having."""
    try:
        return audit.load_key(path, create=False), ""
    except audit.AuditKeyError as exc:
        return None, (
            f"audit chain of the copy not verified: {exc}; the key's holder can run "
            "`dispatch-tui audit verify --database COPY`"
        )


def backup(
    engine: Engine,
    target: Path,
    *,
    actor: str,
    key: bytes | None,
    anchors: Sequence[audit.Anchor],
    group: str = "",
    force: bool = False,
    key_note: str = "",
) -> BackupReport:
    """Copy `engine`'s SQLite database to `target` and verify the copy (see the module).
    `key` and `anchors` are the database's audit key (None: not this account's, and
    `key_note` says why) and anchors. Raises BackupError when the copy cannot be made or
    is damaged; a copy whose audit chain does not verify is kept, and the report says so."""
    if not is_sqlite(engine):
        raise BackupError(POSTGRESQL)
    started = time.monotonic()
    source = Path(str(engine.url.database)).resolve()
    target = target.expanduser().absolute()
    if target.resolve() == source:
        raise BackupError(f"{target} is the database itself: name another file")
    if target.exists() and not force:
        raise BackupError(f"{target} exists: choose another file, or pass --force to replace it")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory: make it first")
    made = _record(engine, actor, target)
    if made is not None:
        anchors = [*anchors, made]
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        create_database_file(partial, engine.url, group)
    except OSError as error:
        raise BackupError(f"cannot write in {target.parent}: {error.strerror or error}") from None
    try:
        _copy(engine, partial)
        report = _verify(partial, key, anchors, key_note)
        _move(partial, target, force)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
    size = target.stat().st_size
    return BackupReport(
        target,
        size,
        time.monotonic() - started,
        report.revision,
        report.counts,
        report.audit,
        report.audit_note,
    )


def _record(engine: Engine, actor: str, target: Path) -> audit.Anchor | None:
    """The audit row of this backup, before the copy (which then holds it), anchored."""
    with write_transaction(engine) as conn:
        refusal = refusal_for(conn, actor, Action.VIEW)
        if refusal is not None:
            raise BackupError(refusal)
        audit.append(
            conn,
            actor=actor,
            action=ACTION,
            entity="database",
            entity_id="",
            detail={"to": str(target)},
        )
    return audit_anchor.anchor(engine, reason=ACTION)


def _copy(engine: Engine, partial: Path) -> None:
    """One backup step of every page: one read transaction, so one moment's database."""
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=-1)
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"the copy failed: {error}") from None
    finally:
        raw.close()


def _verify(
    partial: Path, key: bytes | None, anchors: Sequence[audit.Anchor], key_note: str
) -> BackupReport:
    """Open the copy and check it; the report (path and size are the caller's)."""
    copy = create_db_engine(f"sqlite:///{partial}")
    try:
        with copy.connect() as conn:
            check = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check")]
            if check != ["ok"]:
                raise BackupError(f"the copy is damaged ({'; '.join(check[:3])}); nothing kept")
            counts = {
                what: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for what, table in COUNTED.items()
            }
            result = None
            if key is not None:
                head = audit.head(conn)
                last = head[0] if head is not None else 0
                # Anchors of rows written after the copy's moment are not about the copy.
                held = [a for a in anchors if a.row <= last]
                result = audit.verify(conn, key, held)
        revision = migrate.current_revision(copy)
    finally:
        copy.dispose()
    return BackupReport(partial, 0, 0.0, revision, counts, result, key_note)


def _move(partial: Path, target: Path, force: bool) -> None:
    """Put the checked copy at `target`: never over an existing file unless `force`; then
    without the -wal/-shm files of the file it replaces, which SQLite would read as its."""
    try:
        if force:
            os.replace(partial, target)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        else:
            os.link(partial, target)
    except FileExistsError:
        raise BackupError(f"{target} appeared meanwhile: choose another file") from None
    except OSError as error:
        raise BackupError(f"cannot write {target}: {error.strerror or error}") from None
