"""Issue 10, "every write path checks the role": adding, re-roling and removing operators
is an admin's act (Action.MANAGE_USERS), checked in storage inside the change's
transaction with the one role check, users.refusal_for. Refused changes leave the users,
the role history and the audit log as they were; the first admin can still be made by
whoever runs `init --admin` on a database without one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.storage import users
from dispatch_tui.storage.tables import app_user, audit_log, role_change
from tests.storage.csvdata import dump

CHANGES: dict[str, Callable[[Engine, str], None]] = {
    "add": lambda engine, actor: users.add_operator(engine, "mallory", "admin", actor=actor),
    "set-role": lambda engine, actor: users.set_role(engine, "ana", "admin", actor=actor),
    "remove": lambda engine, actor: users.remove_operator(engine, "root", actor=actor),
}


@pytest.fixture
def staffed(engine: Engine) -> Engine:
    users.bootstrap_admin(engine, "root", actor="root")
    for login, role in (("ana", "dispatcher"), ("bohdan", "shift_lead"), ("viktor", "viewer")):
        users.add_operator(engine, login, role, actor="root")
    return engine


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize(
    ("actor", "reason"),
    [
        ("ana", "a dispatcher may not manage users and roles; ask an admin to do it"),
        ("bohdan", "a shift lead may not manage users and roles; ask an admin to do it"),
        ("viktor", "a viewer may not manage users and roles; ask an admin to do it"),
        ("mallory", "'mallory' is not a dispatch-tui user; ask an admin to add you"),
    ],
)
def test_only_an_admin_changes_users(staffed: Engine, change: str, actor: str, reason: str) -> None:
    before = dump(staffed)
    with pytest.raises(users.UserError) as refused:
        CHANGES[change](staffed, actor)
    assert str(refused.value) == f"only an admin can change users: {reason}"
    assert dump(staffed) == before


def test_an_admin_changes_users_and_each_change_is_recorded(staffed: Engine) -> None:
    for change in CHANGES.values():
        change(staffed, "root")
    with staffed.connect() as conn:
        rows = conn.execute(select(app_user.c.username, app_user.c.role))
        assert {username: role for username, role in rows} == {
            "ana": "admin",
            "bohdan": "shift_lead",
            "viktor": "viewer",
            "mallory": "admin",
        }
        history = select(role_change.c.username, role_change.c.role, role_change.c.changed_by)
        changes = [tuple(row) for row in conn.execute(history.order_by(role_change.c.id))]
        assert changes[-3:] == [
            ("mallory", "admin", "root"),
            ("ana", "admin", "root"),
            ("root", None, "root"),
        ]


def test_the_first_admin_is_made_by_whoever_sets_the_database_up(engine: Engine) -> None:
    assert users.bootstrap_admin(engine, "alice", actor="whoever-ran-init")
    with pytest.raises(users.UserError, match="an admin already exists"):
        users.bootstrap_admin(engine, "mallory", actor="mallory")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(app_user)).scalar() == 1
        actors = conn.execute(select(audit_log.c.actor)).scalars().all()
    assert actors[-1:] == ["whoever-ran-init"]
