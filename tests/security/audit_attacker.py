"""What a person with write access to the database does to the audit log, and the files a
test's audit key and anchors live in (never the real user's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text, update

from dispatch_tui.storage import audit, audit_anchor
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import audit_log

Digest = Callable[[bytes], str]


@pytest.fixture
def audit_files(tmp_path: Path) -> Iterator[audit_anchor.AnchorTargets]:
    """This test's key file and anchor file (no syslog unless a test gives a socket)."""
    with audit_anchor.restoring():
        audit.use_key_file(tmp_path / "config" / "audit.key")
        targets = audit_anchor.AnchorTargets(tmp_path / "data" / "audit-anchors.log", "")
        audit_anchor.use_targets(targets)
        yield targets


def decisions(engine: Engine, count: int, *, actor: str = "ana") -> list[int]:
    """``count`` audited decisions; their row numbers."""
    with write_transaction(engine) as conn:
        for n in range(count):
            audit.append(
                conn,
                actor=actor,
                action="approve",
                entity="outage",
                entity_id=n,
                detail={"title": f"Outage {n}", "note": "č š ž ї"},
            )
        return list(conn.execute(select(audit_log.c.id).order_by(audit_log.c.id)).scalars())


@contextmanager
def as_owner(engine: Engine) -> Iterator[Connection]:
    """A transaction that changes audit rows as the file's owner (SQLite) or the database's
    superuser (PostgreSQL, with this session's triggers off) can: the attacker the keyed
    chain and its anchors are for, since nobody else gets past the database."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn


def rechain(conn: Connection, from_id: int, digest: Digest) -> None:
    """Re-compute every hash from ``from_id`` on with ``digest`` of the row's content, so
    each row links to the one before as the chain demands."""
    prev = conn.execute(
        select(audit_log.c.hash).where(audit_log.c.id < from_id).order_by(audit_log.c.id.desc())
    ).first()
    prev_hash = audit.GENESIS if prev is None else prev.hash
    rows = conn.execute(select(audit_log).where(audit_log.c.id >= from_id).order_by(audit_log.c.id))
    for row in rows.all():
        content = audit.payload(
            prev_hash, row.at, row.actor, row.action, row.entity, row.entity_id, row.detail
        )
        new = digest(content)
        conn.execute(
            update(audit_log).where(audit_log.c.id == row.id).values(prev_hash=prev_hash, hash=new)
        )
        prev_hash = new


def unkeyed(content: bytes) -> str:
    return audit.plain_digest(content)


def guessed_key(content: bytes) -> str:
    return audit.keyed_digest(b"dispatch-tui" * 3, content)


def stolen_key(content: bytes) -> str:
    return audit.keyed_digest(audit.current_key(), content)
