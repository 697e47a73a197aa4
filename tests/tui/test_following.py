"""Two terminals on one database follow each other without a key press: a
dispatcher's submission shows in the shift lead's approvals list within 2 s,
with the lead's cursor still on its outage, a notification, the bell and a
count in the header; the dispatcher is not called to approve. The outages
list and the audit log follow the same way. On SQLite through the change
counter, on PostgreSQL through LISTEN/NOTIFY, each app connected as its
operator's own role."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from dispatch_tui.app import DispatchApp
from dispatch_tui.config import load_settings
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens.approvals import ApprovalsScreen
from dispatch_tui.screens.audit import AuditScreen
from dispatch_tui.screens.outages import OutagesScreen, OutageTable
from dispatch_tui.storage import audit as storage_audit
from dispatch_tui.storage import outage_lifecycle
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import node, utility
from tests.security.pg_roles import ANA, BOHDAN, OLENA, VIKTOR, Cluster, cluster
from tests.tui.test_app import settle

__all__ = ["cluster"]

FOLLOW_SECONDS = 2.0
START = datetime(2031, 6, 3, 6, 0, tzinfo=UTC)


class Terminal(DispatchApp):
    """The app as an operator runs it; the test hears its bell (headless, a bell is silent)."""

    bells: ClassVar[dict[str, int]] = {}

    def bell(self) -> None:
        self.bells[self.identity.login] = self.bells.get(self.identity.login, 0) + 1
        super().bell()


@dataclass
class Room:
    """One database, and who works on it: a login → its own engine (its role on PostgreSQL)."""

    logins: dict[str, str]
    engines: Callable[[str], Engine]

    def app(self, who: str) -> Terminal:
        login = self.logins[who]
        return Terminal(
            self.engines(login),
            sandbox=True,
            settings=load_settings(
                env={"DISPATCH_TUI_ENGINE_EMBEDDED": "false"},
                user_file=Path("/nonexistent/config.toml"),
            ),
            login=login,
        )

    def submit(self, who: str, title: str, start: datetime) -> int:
        """A draft submitted by `who`, as their drafting form does it."""
        engine, login = self.engines(self.logins[who]), self.logins[who]
        with engine.connect() as conn:
            eg = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
            region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
        draft = OutageDraft(
            utility_id=eg,
            title=title,
            reason="vzdrževalna dela",
            starts_at=start,
            ends_at=start + timedelta(hours=4),
            selection=Selection(nodes=frozenset({region})),
        )
        outage_id = outage_lifecycle.create_draft(engine, draft, actor=login)
        outage_lifecycle.submit(engine, outage_id, actor=login)
        return outage_id


@pytest.fixture
def room(backend: str, request: pytest.FixtureRequest) -> Iterator[Room]:
    if backend == "postgresql":
        roles: Cluster = request.getfixturevalue("cluster")
        logins = {"ana": ANA, "bohdan": BOHDAN, "olena": OLENA, "viktor": VIKTOR}
        yield Room(logins, roles.as_role)
        return
    first: Engine = request.getfixturevalue("tui_engine")
    opened: dict[str, Engine] = {}

    def engine_of(login: str) -> Engine:
        """Every terminal its own engine (its own connections) on the one file."""
        if login not in opened:
            opened[login] = create_db_engine(first.url.render_as_string(hide_password=False))
        return opened[login]

    yield Room({name: name for name in ("ana", "bohdan", "olena", "viktor")}, engine_of)
    for engine in opened.values():
        engine.dispose()


async def until(pilot: Pilot[None], done: Callable[[], bool], seconds: float) -> float:
    """Wait without a key press until `done`; how long it took (fails after `seconds`)."""
    began = time.monotonic()
    while not done():
        assert time.monotonic() - began < seconds, f"not followed within {seconds} s"
        await pilot.pause(0.05)
    return time.monotonic() - began


def row_keys(table: DataTable[object]) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def cursor_key(table: DataTable[object]) -> str:
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


def header_line(app: DispatchApp) -> str:
    """The header as the terminal shows it (cut to its width)."""
    return app.screen._compositor.render_strips()[0].text


def notices_of(app: DispatchApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_a_submission_reaches_the_shift_lead_without_a_key(room: Room) -> None:
    later = room.submit("olena", "Zamenjava stikala", START + timedelta(days=2))
    earlier = room.submit("olena", "Pregled voda", START + timedelta(days=1))
    lead, dispatcher = room.app("bohdan"), room.app("ana")
    Terminal.bells.clear()
    async with (
        lead.run_test(size=(80, 24)) as lead_pilot,
        dispatcher.run_test(size=(80, 24)) as dispatcher_pilot,
    ):
        await settle(lead, lead_pilot)
        await lead_pilot.press("f4")
        await settle(dispatcher, dispatcher_pilot)
        await dispatcher_pilot.press("f3")
        await until(lead_pilot, lambda: "2 to approve" in lead.sub_title, FOLLOW_SECONDS)
        approvals = lead.screen
        assert isinstance(approvals, ApprovalsScreen)
        pending = approvals.query_one("#pending", DataTable)
        assert row_keys(pending) == [str(earlier), str(later)]
        await lead_pilot.press("down")
        assert cursor_key(pending) == str(later)
        outages_screen = dispatcher.screen
        assert isinstance(outages_screen, OutagesScreen)
        ana_table = outages_screen.query_one(OutageTable)
        await until(dispatcher_pilot, lambda: ana_table.row_count == 2, FOLLOW_SECONDS)
        await dispatcher_pilot.press("down")
        assert cursor_key(ana_table) == str(later)

        first = room.submit("ana", "Nujna menjava", START)
        await until(lead_pilot, lambda: str(first) in row_keys(pending), FOLLOW_SECONDS)
        assert row_keys(pending) == [str(first), str(earlier), str(later)]
        assert cursor_key(pending) == str(later), "the cursor stays on its outage"
        assert isinstance(lead.screen, ApprovalsScreen), "no key was pressed"
        await until(lead_pilot, lambda: "3 to approve" in lead.sub_title, FOLLOW_SECONDS)
        assert f"Outage #{first} “Nujna menjava” awaits your approval (F4)." in notices_of(lead)
        assert Terminal.bells.get(room.logins["bohdan"]) == 1
        await until(dispatcher_pilot, lambda: ana_table.row_count == 3, FOLLOW_SECONDS)
        assert not any("approval" in text for text in notices_of(dispatcher))
        assert room.logins["ana"] not in Terminal.bells
        assert "to approve" not in dispatcher.sub_title
        assert cursor_key(ana_table) == str(later), "her cursor too"
        # The subtitle changed before the header was painted again: wait for the paint.
        shown = "SANDBOX SMS · 3 to approve · "
        await until(lead_pilot, lambda: shown in header_line(lead), FOLLOW_SECONDS)
        assert shown in header_line(lead), "in view at 80 columns"
        for app in (lead, dispatcher):
            assert app.identity.login in header_line(app), "in view at 80 columns"


async def test_a_shift_leads_own_submission_does_not_call_them(room: Room) -> None:
    lead = room.app("olena")
    Terminal.bells.clear()
    async with lead.run_test(size=(80, 24)) as pilot:
        await settle(lead, pilot)
        await pilot.press("f4")
        await settle(lead, pilot)
        mine = room.submit("olena", "Moja menjava", START)
        pending = lead.screen.query_one("#pending", DataTable)
        await until(pilot, lambda: str(mine) in row_keys(pending), FOLLOW_SECONDS)
        await pilot.press("f3", "f4")  # away and back: still following
        await settle(lead, pilot)
        theirs = room.submit("ana", "Druga menjava", START + timedelta(days=1))
        await until(pilot, lambda: str(theirs) in row_keys(pending), FOLLOW_SECONDS)
        await until(pilot, lambda: "1 to approve" in lead.sub_title, FOLLOW_SECONDS)
        assert notices_of(lead) == [f"Outage #{theirs} “Druga menjava” awaits your approval (F4)."]
        assert Terminal.bells == {room.logins["olena"]: 1}


async def test_the_audit_log_follows_a_decision_elsewhere(room: Room) -> None:
    first = room.submit("ana", "Pregled voda", START)
    viewer = room.app("viktor")
    async with viewer.run_test(size=(100, 30)) as viewer_pilot:
        await settle(viewer, viewer_pilot)
        await viewer_pilot.press("f5")
        await settle(viewer, viewer_pilot)
        audit = viewer.screen
        assert isinstance(audit, AuditScreen)
        table = audit.query_one(DataTable)
        await viewer_pilot.press("down")
        kept = cursor_key(table)
        before = table.row_count
        lead = room.logins["bohdan"]
        outage_lifecycle.reject(room.engines(lead), first, "napačen termin", actor=lead)
        await until(viewer_pilot, lambda: table.row_count > before, FOLLOW_SECONDS)
        assert audit.entries[row_keys(table)[0]].action == "reject"
        assert cursor_key(table) == kept


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_open_entry_shows_its_seal_when_the_holder_seals_it(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator without the key writes unsealed rows; the entry a viewer has open
    shows its hashes once the key's holder seals it, without a key press."""
    with monkeypatch.context() as without_key:
        without_key.setattr(storage_audit, "sealing_key", lambda: None)
        room.submit("ana", "Pregled voda", START)
    viewer = room.app("viktor")
    async with viewer.run_test(size=(100, 30)) as viewer_pilot:
        await settle(viewer, viewer_pilot)
        await viewer_pilot.press("f5")
        await settle(viewer, viewer_pilot)
        screen = viewer.screen
        assert isinstance(screen, AuditScreen)
        await viewer_pilot.press("enter")
        body = screen.query_one("#detail-body", Static)
        assert "not sealed yet" in str(body.render())
        sealed = storage_audit.seal_pending(room.engines("ana"))
        assert sealed is not None
        await until(viewer_pilot, lambda: "hash " in str(body.render()), FOLLOW_SECONDS)
