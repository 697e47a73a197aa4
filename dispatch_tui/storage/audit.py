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

from sqlalchemy import Connection, insert, select, text

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
