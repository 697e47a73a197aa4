"""`dispatch-tui users` and `init --admin`: roles are an admin's business, and the
admin is whoever the process's real uid says, whatever LOGNAME and USER claim.

These run in process as the OS user running the tests; the same refusals with real
second OS users through the installed command are in tests/security/test_identity_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from dispatch_tui.cli import main
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import users
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import app_user, audit_log

ME = current_login()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return {"DISPATCH_TUI_DATABASE_URL": db_url}


def run(env: dict[str, str], *args: str, claim: str | None = None) -> Result:
    """Run the CLI as this process's OS user; `claim` sets LOGNAME and USER to another
    name, as anyone can."""
    names = {"LOGNAME": claim, "USER": claim} if claim else {}
    return CliRunner().invoke(main, list(args), env={**env, **names})


def role_changes(db_url: str) -> list[tuple[str, str]]:
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.entity_id)
            .where(audit_log.c.action == "role_change")
            .order_by(audit_log.c.id)
        ).all()
    engine.dispose()
    return [(actor, entity) for actor, entity in rows]


def test_roles_lifecycle(env: dict[str, str], db_url: str) -> None:
    assert run(env, "init", "--admin", ME).exit_code == 0
    assert run(env, "users", "add", "bob", "dispatcher").exit_code == 0
    assert run(env, "users", "add", "carol", "shift_lead").exit_code == 0
    again = run(env, "users", "add", "bob", "viewer")
    assert again.exit_code == 1 and "already exists" in again.output
    bad = run(env, "users", "add", "dave", "overlord")
    assert bad.exit_code == 2 and "overlord" in bad.output
    last = run(env, "users", "set-role", ME, "viewer")
    assert last.exit_code == 1 and "last admin" in last.output
    assert run(env, "users", "set-role", "bob", "viewer").exit_code == 0
    assert run(env, "users", "remove", "carol").exit_code == 0
    listing = run(env, "users", "list").output.split()
    assert dict(zip(listing[::2], listing[1::2], strict=True)) == {ME: "admin", "bob": "viewer"}
    second = run(env, "init", "--admin", "eve")
    assert second.exit_code == 1 and "an admin already exists" in second.output
    assert role_changes(db_url) == [
        (ME, ME),
        (ME, "bob"),
        (ME, "carol"),
        (ME, "bob"),
        (ME, "carol"),
    ]


def test_the_environment_does_not_make_an_admin(env: dict[str, str], db_url: str) -> None:
    """alice is the admin; this process's user, not registered, says it is alice."""
    assert run(env, "init", "--admin", "alice").exit_code == 0
    for args in (["users", "add", ME, "admin"], ["users", "set-role", "alice", "viewer"]):
        refused = run(env, *args, claim="alice")
        assert refused.exit_code == 1
        assert f"only an admin can change users: '{ME}' is not a dispatch-tui user" in (
            refused.output
        )
    refused = run(env, "users", "remove", "alice", claim="alice")
    assert refused.exit_code == 1 and f"'{ME}' is not a dispatch-tui user" in refused.output
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        assert dict(conn.execute(select(app_user.c.username, app_user.c.role)).all()) == {
            "alice": "admin"
        }
    engine.dispose()
    assert role_changes(db_url) == [(ME, "alice")]


def test_a_role_without_the_right_is_told_which(env: dict[str, str], db_url: str) -> None:
    """Registered, but not an admin: the one role check's sentence names the role."""
    assert run(env, "init", "--admin", "alice").exit_code == 0
    engine = create_db_engine(db_url)
    users.add_operator(engine, ME, "shift_lead", actor="alice")
    engine.dispose()
    refused = run(env, "users", "add", "mallory", "admin", claim="alice")
    assert refused.exit_code == 1
    assert "a shift lead may not manage users and roles; ask an admin to do it" in refused.output
    assert [entity for _actor, entity in role_changes(db_url)] == ["alice", ME]
