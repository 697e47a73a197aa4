"""The README's PostgreSQL dump and restore, followed step by step with the real pg_dump
and pg_restore against the test cluster: the restored database has the same rows, grants
and triggers, `audit verify` passes on it, and once renamed to the old name its anchors
match again."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from dispatch_tui.cli import main
from dispatch_tui.os_user import current_login
from tests.conftest import drop_pg_database, new_pg_database
from tests.missing import unavailable
from tests.storage.csvdata import FILES, write

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ME = current_login()


def tool(name: str) -> str:
    path = PG_BIN / name
    if not os.access(path, os.X_OK):
        reason = f"{path} not found: install PostgreSQL 15's client tools"
        unavailable(reason)
    return str(path)


def libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def facts(conn: Connection) -> dict[str, Any]:
    """What a restore must bring back: rows, grants to the group roles, triggers."""
    counts = {
        table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in ("utility", "node", "metering_point", "subscriber", "contact", "audit_log")
    }
    grants = conn.execute(
        text(
            "SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants"
            " WHERE grantee LIKE 'dispatch_%' ORDER BY 1, 2, 3"
        )
    ).all()
    triggers = conn.execute(
        text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")
    ).all()
    return {"counts": counts, "grants": grants, "triggers": triggers}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_dump_and_restore_into_a_new_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    env = {
        "DISPATCH_TUI_DATABASE_URL": db_url,
        "DISPATCH_TUI_AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit.key"),
        "DISPATCH_TUI_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors" / "audit.log"),
        "DISPATCH_TUI_AUDIT_SYSLOG_SOCKET": "",
    }
    assert run(env, "init", "--admin", ME).exit_code == 0
    for kind, content in FILES.items():
        assert run(env, "import", kind, str(write(tmp_path, f"{kind}.csv", content))).exit_code == 0
    assert run(env, "init").exit_code == 0, "anchors the head"
    original = create_engine(db_url)
    with original.connect() as conn:
        before = facts(conn)
    original.dispose()

    dump = tmp_path / "dispatch.dump"
    subprocess.run([pg_dump, "-Fc", "-f", str(dump), libpq(db_url)], check=True, timeout=60)
    restored_url, admin = new_pg_database("template0")
    try:
        subprocess.run(
            [pg_restore, "--exit-on-error", "-d", libpq(restored_url), str(dump)],
            check=True,
            timeout=60,
        )
        restored = create_engine(restored_url)
        with restored.connect() as conn:
            assert facts(conn) == before
        restored.dispose()
        checked = run({**env, "DISPATCH_TUI_DATABASE_URL": restored_url}, "audit", "verify")
        assert checked.exit_code == 0, checked.output
        rows = before["counts"]["audit_log"]
        assert checked.output.strip() == f"audit log intact: {rows} rows"

        # Renamed to the old name, the anchors written under it apply again.
        # The in-process commands above keep pooled sessions: the README stops everything.
        original_name = make_url(db_url).database
        restored_name = make_url(restored_url).database
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": restored_name},
            )
            conn.execute(text(f'DROP DATABASE "{original_name}" WITH (FORCE)'))
            conn.execute(text(f'ALTER DATABASE "{restored_name}" RENAME TO "{original_name}"'))
        checked = run(env, "audit", "verify")
        assert checked.exit_code == 0, checked.output
        assert checked.output.strip() == f"audit log intact: {rows} rows, 1 anchors match"
    finally:
        drop_pg_database(restored_url, admin)
