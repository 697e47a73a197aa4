"""Connection settings and the audit chain on both backends."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import IntegrityError

from dispatch_tui.storage import audit
from dispatch_tui.storage.db import DatabaseError, create_db_engine, write_transaction
from dispatch_tui.storage.models import Outage
from dispatch_tui.storage.tables import audit_log
from tests.security.audit_attacker import as_owner


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'a' / 'b.sqlite'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1234


def test_unsupported_backend_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="use sqlite or postgresql"):
        create_db_engine("mysql://x@localhost/db")


def test_audit_chain_appends_and_verifies(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        for i in range(5):
            audit.append(
                conn,
                actor="ana",
                action="submit",
                entity="outage",
                entity_id=i,
                detail={"title": f"Outage {i}", "note": "č š ž ї"},
            )
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert (result.ok, result.checked) == (True, 5)
    with as_owner(engine) as conn:  # past PostgreSQL's append-only trigger, as its owner can
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(detail={"title": "x"}))
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert (result.ok, result.first_bad_id, result.problem) == (False, 3, "content was edited")


def test_concurrent_audit_appends_keep_one_chain(engine: Engine) -> None:
    def writer(name: str) -> None:
        for i in range(10):
            with write_transaction(engine) as conn:
                audit.append(conn, actor=name, action="retry", entity="message", entity_id=i)

    threads = [threading.Thread(target=writer, args=(f"op{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert (result.ok, result.checked) == (True, 30)


def test_four_eyes_is_enforced_by_the_database(engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from dispatch_tui.storage.tables import utility

    now = datetime.now(UTC)
    with engine.begin() as conn:
        uid = conn.execute(
            insert(utility).returning(utility.c.id),
            {
                "code": "EG",
                "name": "EG",
                "country": "SI",
                "timezone": "Europe/Ljubljana",
                "language": "sl",
                "contact_phone": "1",
                "sms_sender": "EG",
            },
        ).scalar_one()
    row = {
        "utility_id": uid,
        "title": "t",
        "reason": "r",
        "starts_at": now + timedelta(days=6),
        "ends_at": now + timedelta(days=6, hours=4),
        "urgent": False,
        "status": "approved",
        "channels": ["sms"],
        "plan": {},
        "texts": {},
        "created_by": "ana",
        "created_at": now,
        "updated_at": now,
        "approved_by": "ana",
        "approved_at": now,
        "revision": 1,
    }
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Outage.__table__), row)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Outage.__table__), {**row, "approved_by": None})
    with engine.begin() as conn:
        conn.execute(insert(Outage.__table__), {**row, "approved_by": "bohdan"})


def test_editing_any_field_of_any_audit_row_is_named(engine: Engine) -> None:
    """Every column of every row is covered by the chain: change one, verify names that row."""
    from datetime import UTC, datetime, timedelta

    base = datetime(2030, 1, 1, tzinfo=UTC)
    with write_transaction(engine) as conn:
        for i in range(4):
            audit.append(
                conn,
                actor=f"op{i}",
                action="approve",
                entity="outage",
                entity_id=i,
                detail={"n": i},
                at=base + timedelta(minutes=i),
            )
    edits = {
        "actor": "mallory",
        "action": "reject",
        "entity": "user",
        "entity_id": "999",
        "detail": {"n": -1},
        "at": base - timedelta(days=1),
        "prev_hash": "f" * 64,
        "hash": "e" * 64,
    }
    with engine.connect() as conn:
        rows = conn.execute(audit_log.select().order_by(audit_log.c.id)).all()
    for row in rows:
        for column, value in edits.items():
            with as_owner(engine) as conn:
                conn.execute(
                    update(audit_log).where(audit_log.c.id == row.id).values({column: value})
                )
            with engine.connect() as conn:
                result = audit.verify(conn)
            assert (result.ok, result.first_bad_id) == (False, row.id), (row.id, column)
            with as_owner(engine) as conn:
                conn.execute(
                    update(audit_log)
                    .where(audit_log.c.id == row.id)
                    .values({column: row._mapping[column]})
                )
    with engine.connect() as conn:
        assert audit.verify(conn).ok
