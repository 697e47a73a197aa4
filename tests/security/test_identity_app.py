"""Issue 10, attack 1 in the app: a dispatcher set `USER=<a shift lead>` and approved
their own outage. Only the app approves, and storage takes the approver from the app's
identity, so what must hold is that the app's identity is the real uid: widgets/identity
ignores LOGNAME and USER (in process), and the installed app run by a real dispatcher
(dt_ana) in a real terminal, claiming to be the shift lead dt_bohdan, is dt_ana and is
offered no approval; the outage stays submitted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import outage_lifecycle, users
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import audit_log, node, outage, utility
from dispatch_tui.widgets.identity import resolve
from tests.cli.os_users import Shared, available, command_as, shared_database
from tests.cli.terminal import Screen, terminals
from tests.storage.csvdata import load_all


def test_identity_ignores_logname_and_user(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "bohdan", "shift_lead", actor="root")
    monkeypatch.setenv("LOGNAME", "bohdan")
    monkeypatch.setenv("USER", "bohdan")
    me = current_login()
    identity = resolve(engine)
    assert identity.login == me != "bohdan"
    with engine.connect() as conn:
        operator = users.get_operator(conn, me)
    assert identity.role == (operator.role if operator else None)


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Shared, int]]:
    """A shared SQLite database with the sample data, dt_ana (dispatcher) and dt_bohdan
    (shift lead), and an outage dt_ana drafted and submitted; its id."""
    available()
    with shared_database("sqlite", request) as shared:
        engine = create_db_engine(shared.url)
        load_all(engine, tmp_path)
        users.bootstrap_admin(engine, current_login(), actor=current_login())
        users.add_operator(engine, "dt_ana", "dispatcher", actor=current_login())
        users.add_operator(engine, "dt_bohdan", "shift_lead", actor=current_login())
        with engine.connect() as conn:
            eg = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
            region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
        draft = OutageDraft(
            utility_id=eg,
            title="Zamenjava transformatorja",
            reason="vzdrževalna dela",
            starts_at=start,
            ends_at=start + timedelta(hours=4),
            selection=Selection(nodes=frozenset({region})),
        )
        outage_id = outage_lifecycle.create_draft(engine, draft, actor="dt_ana")
        outage_lifecycle.submit(engine, outage_id, actor="dt_ana")
        engine.dispose()
        yield shared, outage_id


@pytest.fixture
def terminal(world: tuple[Shared, int]) -> Iterator[Callable[..., Screen]]:
    """terminal(user, **claims): the installed app run as `user` in an 80×24 tmux."""
    shared, _outage_id = world
    with terminals() as start:

        def run(user: str, **claims: str) -> Screen:
            env = {
                **shared.env,
                **claims,
                "TERM": "xterm-256color",
                "NO_COLOR": "1",
                "DISPATCH_TUI_ENGINE_EMBEDDED": "false",
            }
            return start(command_as(user, [], env))

        yield run


def state(shared: Shared, outage_id: int) -> tuple[str, int]:
    """The outage's status and how many approvals the audit log records."""
    engine = create_db_engine(shared.url)
    try:
        with engine.connect() as conn:
            status = conn.execute(select(outage.c.status).where(outage.c.id == outage_id))
            approvals = select(func.count()).where(audit_log.c.action == "approve")
            return str(status.scalar_one()), int(conn.execute(approvals).scalar_one())
    finally:
        engine.dispose()


def test_a_dispatcher_claiming_to_be_the_shift_lead_cannot_approve(
    world: tuple[Shared, int], terminal: Callable[..., Screen]
) -> None:
    shared, outage_id = world
    screen = terminal("dt_ana", LOGNAME="dt_bohdan", USER="dt_bohdan")
    first = screen(wait_for="Elektro Gorenjska")
    assert "dt_ana (dispatcher)" in first, first
    assert "dt_bohdan" not in first
    approvals = screen("F4", wait_for="Zamenjava transformatorja")
    assert "Zamenjava transformatorja" in approvals, approvals
    assert "Approve" not in approvals
    screen("a", "y", "Enter")
    time.sleep(1)
    assert state(shared, outage_id) == ("submitted", 0)
    screen("C-q")


def test_the_real_shift_lead_is_offered_the_approval(
    world: tuple[Shared, int], terminal: Callable[..., Screen]
) -> None:
    """The control: the same screen, run by dt_bohdan, offers the approval, so the
    dispatcher's screen lacks it for the role and not for the setup."""
    screen = terminal("dt_bohdan")
    header = screen(wait_for="Elektro Gorenjska").splitlines()[0]
    # At 80 columns the count of what awaits approval takes the role's place.
    assert "dt_bohdan" in header and "1 to approve" in header, header
    approvals = screen("F4", wait_for="Approve")
    assert "Approve" in approvals, approvals
    screen("C-q")
