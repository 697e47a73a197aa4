"""On PostgreSQL the database itself refuses to change or remove audit rows (issue 10,
attack 6): every UPDATE of a sealed row (unsealing it included), DELETE and TRUNCATE,
through a driver or through psql, whoever connects (the test connects as a superuser)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from dispatch_tui.storage import audit
from dispatch_tui.storage.tables import audit_log
from tests.security.audit_attacker import audit_files, decisions

__all__ = ["audit_files"]

pytestmark = [
    pytest.mark.usefixtures("audit_files"),
    pytest.mark.parametrize("backend", ["postgresql"]),
]

STATEMENTS = [
    "UPDATE audit_log SET actor = 'mallory' WHERE id = 2",
    "UPDATE audit_log SET hash = NULL, prev_hash = NULL WHERE id = 3",
    "UPDATE audit_log SET hash = repeat('0', 64) WHERE id = 4",
    "DELETE FROM audit_log WHERE id = 3",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "TRUNCATE audit_log CASCADE",
]


def snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_plain_sql_cannot_change_audit_rows(engine: Engine, statement: str) -> None:
    decisions(engine, 4)
    before = snapshot(engine)
    with pytest.raises(DBAPIError, match="audit_log is append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert snapshot(engine) == before
    with engine.connect() as conn:
        assert audit.verify(conn).ok


def test_psql_cannot_change_audit_rows(engine: Engine, db_url: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql not installed")
    decisions(engine, 4)
    before = snapshot(engine)
    url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    for statement in STATEMENTS:
        done = subprocess.run(
            [psql, url, "-v", "ON_ERROR_STOP=1", "-c", statement],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode != 0, statement
        assert "audit_log is append-only" in done.stderr, (statement, done.stderr)
    assert snapshot(engine) == before


def test_appending_still_works(engine: Engine) -> None:
    decisions(engine, 2)
    decisions(engine, 3, actor="bohdan")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 5
        assert audit.verify(conn).ok
