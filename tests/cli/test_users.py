"""`dispatch-tui users` and `init --admin`: roles are an admin's business."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from dispatch_tui.cli import main
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import audit_log


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return {"DISPATCH_TUI_DATABASE_URL": db_url}


def run(env: dict[str, str], login: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={**env, "LOGNAME": login, "USER": login})


def test_roles_lifecycle(env: dict[str, str], db_url: str) -> None:
    assert run(env, "root", "init", "--admin", "alice").exit_code == 0
    refused = run(env, "mallory", "users", "add", "mallory", "admin")
    assert refused.exit_code == 1 and "only an admin can change users" in refused.output
    assert run(env, "alice", "users", "add", "bob", "dispatcher").exit_code == 0
    assert run(env, "alice", "users", "add", "carol", "shift_lead").exit_code == 0
    again = run(env, "alice", "users", "add", "bob", "viewer")
    assert again.exit_code == 1 and "already exists" in again.output
    bad = run(env, "alice", "users", "add", "dave", "overlord")
    assert bad.exit_code == 2 and "overlord" in bad.output
    last = run(env, "alice", "users", "set-role", "alice", "viewer")
    assert last.exit_code == 1 and "last admin" in last.output
    assert run(env, "alice", "users", "set-role", "bob", "viewer").exit_code == 0
    assert run(env, "alice", "users", "remove", "carol").exit_code == 0
    listing = run(env, "bob", "users", "list").output.split()
    assert listing == ["alice", "admin", "bob", "viewer"]
    second = run(env, "root", "init", "--admin", "eve")
    assert second.exit_code == 1 and "an admin already exists" in second.output
    with create_db_engine(db_url).connect() as conn:
        changes = conn.execute(
            select(audit_log.c.actor, audit_log.c.entity_id).where(
                audit_log.c.action == "role_change"
            )
        ).all()
    assert [tuple(c) for c in changes] == [
        ("root", "alice"),
        ("alice", "bob"),
        ("alice", "carol"),
        ("alice", "bob"),
        ("alice", "carol"),
    ]
