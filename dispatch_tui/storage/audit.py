"""The append-only audit log with a hash chain.

Each row's hash covers its own content and the previous row's hash, so
editing, deleting or reordering any row breaks the chain from that row on,
and `verify` names the first row that no longer fits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, or_, select, text

from dispatch_tui.storage.tables import audit_log

GENESIS = "0" * 64


def _digest(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    detail: dict[str, Any],
) -> str:
    payload = json.dumps(
        [
            prev_hash,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor,
            action,
            entity,
            entity_id,
            detail,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> str:
    """Add one entry inside the caller's transaction; returns its hash.

    The chain needs the last hash, so appends are serialized: SQLite's write
    transactions already are; on PostgreSQL a transaction-level advisory
    lock does it without blocking readers.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7331)"))
    prev = (
        conn.execute(
            select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
        ).scalar_one_or_none()
        or GENESIS
    )
    when = at or datetime.now(UTC)
    body = detail or {}
    digest = _digest(prev, when, actor, action, entity, str(entity_id), body)
    conn.execute(
        insert(audit_log).values(
            at=when,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            detail=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    return digest


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify(conn: Connection) -> VerifyResult:
    """Walk the chain in id order; report the first row that does not fit."""
    prev = GENESIS
    checked = 0
    previous_id = 0
    rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
        select(audit_log).order_by(audit_log.c.id)
    )
    for row in rows:
        if row.prev_hash != prev:
            missing = " (a row before it is missing)" if row.id != previous_id + 1 else ""
            return VerifyResult(False, checked, row.id, f"previous-hash link broken{missing}")
        expected = _digest(
            prev, row.at, row.actor, row.action, row.entity, row.entity_id, row.detail
        )
        if row.hash != expected:
            return VerifyResult(False, checked, row.id, "content was edited")
        prev = row.hash
        previous_id = row.id
        checked += 1
    return VerifyResult(True, checked)


@dataclass(frozen=True)
class AuditRow:
    """One log entry as the screens show it (hashes included for the detail view)."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


_SEARCHED = (audit_log.c.actor, audit_log.c.action, audit_log.c.entity, audit_log.c.entity_id)


def _conditions(text: str, action: str | None) -> list[ColumnElement[bool]]:
    """Every word must occur (any case) in actor, action, entity or entity id."""
    conditions: list[ColumnElement[bool]] = [
        or_(*(column.icontains(word, autoescape=True) for column in _SEARCHED))
        for word in text.split()
    ]
    if action:
        conditions.append(audit_log.c.action == action)
    return conditions


def list_entries(
    conn: Connection,
    *,
    text: str = "",
    action: str | None = None,
    offset: int = 0,
    limit: int = 200,
    before_id: int | None = None,
) -> tuple[list[AuditRow], int]:
    """One page of matching entries, newest first, and how many match in all.

    The log only grows, so callers page through it rather than load it whole;
    filtering happens in SQL for the same reason. `before_id` (only entries
    older than that id) pages steadily while others keep appending, where an
    offset would shift; the count then covers only those older entries.
    """
    conditions = _conditions(text, action)
    if before_id is not None:
        conditions.append(audit_log.c.id < before_id)
    total = conn.execute(
        select(func.count()).select_from(audit_log).where(*conditions)
    ).scalar_one()
    rows = conn.execute(
        select(audit_log)
        .where(*conditions)
        .order_by(audit_log.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    entries = [
        AuditRow(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            detail=row.detail,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in rows
    ]
    return entries, int(total)


def list_actions(conn: Connection) -> list[str]:
    """The action names present in the log, for a filter's choices."""
    return list(
        conn.execute(select(audit_log.c.action).distinct().order_by(audit_log.c.action)).scalars()
    )
