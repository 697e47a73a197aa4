"""Issue 10, attack 1 on the command line: `LOGNAME=root USER=root dispatch-tui users
add eve admin`, run by an OS user who is not an admin, was obeyed. Who acts is now the
real uid: the installed command runs as real second OS users (runuser), on a SQLite
file their group shares and on PostgreSQL, and the names they claim change nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from dispatch_tui.os_user import current_login
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import app_user, audit_log
from tests.cli.os_users import Shared, available, shared_database

ME = current_login()
"""The OS user running the tests (root: runuser needs it), the databases' admin."""
AS_ME = {"LOGNAME": ME, "USER": ME}


@pytest.fixture
def shared(backend: str, request: pytest.FixtureRequest) -> Iterator[Shared]:
    """A shared database whose admin is the OS user running the tests, as after
    `dispatch-tui init --admin <me>` run by them."""
    available()
    with shared_database(backend, request) as shared:
        done = shared.run(None, "init", "--admin", ME)
        assert done.returncode == 0, done.stderr
        yield shared


def roles(shared: Shared) -> dict[str, str]:
    engine = create_db_engine(shared.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(app_user.c.username, app_user.c.role))
            return {username: role for username, role in rows}
    finally:
        engine.dispose()


def role_changes(shared: Shared) -> list[tuple[str, str]]:
    """(actor, user changed) of every role change, oldest first."""
    engine = create_db_engine(shared.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(audit_log.c.actor, audit_log.c.entity_id)
                .where(audit_log.c.action == "role_change")
                .order_by(audit_log.c.id)
            )
            return [(actor, entity) for actor, entity in rows]
    finally:
        engine.dispose()


def test_logname_of_the_admin_does_not_make_an_outsider_an_admin(shared: Shared) -> None:
    for args in (
        ["users", "add", "eve", "admin"],
        ["users", "add", "dt_eve", "admin"],
        ["users", "set-role", ME, "viewer"],
        ["users", "remove", ME],
        ["init", "--admin", "dt_eve"],
    ):
        done = shared.run("dt_eve", *args, **AS_ME)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        if args[0] == "users":
            assert "'dt_eve' is not a dispatch-tui user" in done.stderr, done.stderr
        else:
            assert "an admin already exists" in done.stderr, done.stderr
    assert roles(shared) == {ME: "admin"}
    assert role_changes(shared) == [(ME, ME)]


def test_a_dispatcher_claiming_the_admin_is_still_a_dispatcher(shared: Shared) -> None:
    assert shared.run(None, "users", "add", "dt_eve", "dispatcher").returncode == 0
    done = shared.run("dt_eve", "users", "set-role", "dt_eve", "admin", **AS_ME)
    assert done.returncode == 1
    assert "a dispatcher may not manage users and roles; ask an admin to do it" in done.stderr
    assert roles(shared) == {ME: "admin", "dt_eve": "dispatcher"}


def test_an_admin_acts_under_their_own_name_whatever_they_claim(shared: Shared) -> None:
    """The control: the same command works for a real admin (so the refusals above are
    about roles, not about reaching the database), and the audit names the real uid."""
    assert shared.run(None, "users", "add", "dt_ana", "admin").returncode == 0
    done = shared.run("dt_ana", "users", "add", "dt_bohdan", "shift_lead", LOGNAME="dt_eve")
    assert done.returncode == 0, done.stderr
    listed = shared.run("dt_eve", "users", "list")
    assert listed.returncode == 0 and "dt_bohdan" in listed.stdout
    assert roles(shared) == {ME: "admin", "dt_ana": "admin", "dt_bohdan": "shift_lead"}
    assert role_changes(shared)[-1] == ("dt_ana", "dt_bohdan")
