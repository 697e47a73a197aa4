"""Migration 0011 on both backends: rows written before the key existed still verify
after a switch row, every later row is keyed, an empty log gets no switch row, the
PostgreSQL trigger comes and goes with the revision, and a second upgrade adds no second
switch row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from dispatch_tui.storage import audit, audit_anchor, migrate
from dispatch_tui.storage.audit import Tampering
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import audit_log
from tests.security.audit_attacker import (
    as_owner,
    audit_files,
    decisions,
    rechain,
    unkeyed,
)

__all__ = ["audit_files"]

pytestmark = pytest.mark.usefixtures("audit_files")


@pytest.fixture
def old(empty_db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(empty_db_url)
    migrate.upgrade(engine, "0010")
    yield engine
    engine.dispose()


def legacy_rows(engine: Engine, count: int) -> None:
    """Rows as dispatch-tui wrote them before 0011: plain SHA-256, no key."""
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        prev = audit.GENESIS
        for n in range(count):
            at = start + timedelta(minutes=n, microseconds=n * 7)
            detail = {"title": f"Izklop {n}", "note": "ї"}
            content = audit.payload(prev, at, "ana", "submit", "outage", str(n), detail)
            digest = audit.plain_digest(content)
            conn.execute(
                insert(audit_log).values(
                    at=at,
                    actor="ana",
                    action="submit",
                    entity="outage",
                    entity_id=str(n),
                    detail=detail,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest


def switch_rows(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(audit_log.c.id).where(audit_log.c.action == audit.SWITCH_ACTION)
            ).scalars()
        )


def verify(engine: Engine) -> audit.VerifyResult:
    with engine.connect() as conn:
        return audit.verify(conn)


def test_unkeyed_rows_still_verify_and_later_rows_are_keyed(old: Engine) -> None:
    legacy_rows(old, 4)
    migrate.upgrade(old)
    assert switch_rows(old) == [5]
    with old.connect() as conn:
        switch = conn.execute(select(audit_log).where(audit_log.c.id == 5)).one()
    assert switch.detail["unkeyed_rows"] == 4
    decisions(old, 3)
    result = verify(old)
    assert result.ok and result.checked == 8
    with old.connect() as conn:
        last = conn.execute(select(audit_log).where(audit_log.c.id == 8)).one()
    content = audit.payload(
        last.prev_hash, last.at, last.actor, last.action, last.entity, last.entity_id, last.detail
    )
    assert last.hash == audit.keyed_digest(audit.current_key(), content)
    assert last.hash != audit.plain_digest(content)


def test_unkeyed_rows_recomputed_through_the_switch_are_caught(old: Engine) -> None:
    """Without the key the rewrite fails at the first keyed row; an anchor taken after the
    upgrade (as `dispatch-tui init` does) moves the finding back to the switch row."""
    legacy_rows(old, 4)
    migrate.upgrade(old)
    assert audit_anchor.anchor(old, reason="init") is not None
    decisions(old, 2)
    with as_owner(old) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 2).values(actor="mallory"))
        rechain(conn, 2, unkeyed)
    result = verify(old)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.RECHAINED, 6)
    assert "with the old unkeyed formula" in result.problem
    with old.connect() as conn:
        anchored = audit.verify(conn, anchors=audit_anchor.anchors_of(old))
    assert (anchored.kind, anchored.first_bad_id) == (Tampering.RECHAINED, 5)
    assert "differs from its anchor" in anchored.problem


def test_an_edited_unkeyed_row_is_named(old: Engine) -> None:
    legacy_rows(old, 4)
    migrate.upgrade(old)
    audit.init_key(audit.key_file())
    with as_owner(old) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(entity_id="99"))
    result = verify(old)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.EDITED, 3)


def test_an_empty_log_is_keyed_from_its_first_row(old: Engine) -> None:
    migrate.upgrade(old)
    assert switch_rows(old) == []
    decisions(old, 2)
    assert verify(old).ok


def test_downgrade_and_upgrade_again_add_no_second_switch_row(old: Engine) -> None:
    legacy_rows(old, 2)
    migrate.upgrade(old)
    decisions(old, 1)
    migrate.downgrade(old, "0010")
    with old.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 99).values(actor="x"))
    migrate.upgrade(old)
    assert switch_rows(old) == [3]
    assert verify(old).ok


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_trigger_comes_with_the_revision_on_postgresql(old: Engine) -> None:
    legacy_rows(old, 2)
    migrate.upgrade(old)
    with pytest.raises(DBAPIError, match="append-only"), old.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    migrate.downgrade(old, "0010")
    with old.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = actor WHERE false"))
    migrate.upgrade(old)
    with pytest.raises(DBAPIError, match="append-only"), old.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))
    with old.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 3
