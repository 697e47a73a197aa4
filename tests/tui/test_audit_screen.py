"""The audit screen: a viewer browses the log newest first, filters it in
SQL, pages through it, reads one entry whole, and verifies the hash chain —
which names the row someone edited behind the app's back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from dispatch_tui.app import DispatchApp
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens import audit as audit_screen
from dispatch_tui.screens.audit import AuditScreen
from dispatch_tui.storage import audit, audit_anchor, outage_lifecycle
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import audit_log, node, utility
from tests.tui.conftest import make_app
from tests.tui.test_app import settle

# The template database holds 9 entries: 4 imports and 5 role changes.
TEMPLATE_ENTRIES = 9


def outage_history(engine: Engine) -> int:
    """Draft (ana), submit (ana), approve (bohdan): entries 10, 11 and 12."""
    with engine.connect() as conn:
        utility_id = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
        region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    draft = OutageDraft(
        utility_id=utility_id,
        title="Zamenjava transformatorja",
        reason="vzdrževalna dela",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        selection=Selection(nodes=frozenset({region})),
    )
    outage_id = outage_lifecycle.create_draft(engine, draft, actor="ana")
    outage_lifecycle.submit(engine, outage_id, actor="ana")
    outage_lifecycle.approve(engine, outage_id, actor="bohdan")
    return outage_id


async def open_audit(app: DispatchApp, pilot: Pilot[None]) -> AuditScreen:
    await settle(app, pilot)
    await pilot.press("f5")
    await settle(app, pilot)
    assert isinstance(app.screen, AuditScreen)
    return app.screen


def keys(screen: AuditScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(row.key.value) for row in table.ordered_rows]


def cell(screen: AuditScreen, row: int, column: str) -> str:
    table = screen.query_one(DataTable)
    return str(table.get_cell(table.ordered_rows[row].key, column))


def status(screen: AuditScreen, widget: str) -> str:
    return str(screen.query_one(widget, Static).render())


async def filter_by(app: DispatchApp, pilot: Pilot[None], words: str) -> None:
    """By keyboard: / focuses the filter, Enter applies it and returns to the table."""
    await pilot.press("slash")
    app.screen.query_one("#filter", Input).value = ""
    await pilot.press(*("space" if c == " " else c for c in words), "enter")
    await settle(app, pilot)


async def test_viewer_browses_filters_and_verifies(tui_engine: Engine) -> None:
    outage_id = outage_history(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_audit(app, pilot)
        assert keys(screen) == [str(n) for n in range(12, 0, -1)]
        assert (cell(screen, 0, "actor"), cell(screen, 0, "action")) == ("bohdan", "approve")
        assert (cell(screen, 0, "entity"), cell(screen, 0, "entity_id")) == (
            "outage",
            str(outage_id),
        )
        # Compact JSON, cut with an ellipsis to the room left at 100 columns.
        assert cell(screen, 2, "detail") == '{"title":"Zamenjava transfo…'
        assert "12 entries, newest first" in status(screen, "#count")

        await filter_by(app, pilot, "outage")
        assert keys(screen) == ["12", "11", "10"]
        # "ana" is the actor of the draft and submit, and the entity id of her role change.
        await filter_by(app, pilot, "ANA")
        assert keys(screen) == ["11", "10", "6"]
        await filter_by(app, pilot, "ana submit")
        assert keys(screen) == ["11"]
        assert "(filtered)" in status(screen, "#count")
        await filter_by(app, pilot, "nobody")
        assert keys(screen) == []
        assert "no entries match the filter" in status(screen, "#count")

        await filter_by(app, pilot, "")
        screen.query_one("#action", Select).value = "role_change"
        await settle(app, pilot)
        assert keys(screen) == ["9", "8", "7", "6", "5"]
        screen.query_one("#action", Select).clear()
        await settle(app, pilot)
        assert len(keys(screen)) == 12
        assert isinstance(screen.focused, DataTable)

        await pilot.press("v")
        await settle(app, pilot)
        assert status(screen, "#verdict") == "✓ audit log intact: 12 rows"
        assert any("audit log intact: 12 rows" in n.message for n in app._notifications)

        with tui_engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor='mallory' WHERE id=2"))
        await pilot.press("v")
        await settle(app, pilot)
        assert status(screen, "#verdict") == "✗ row 2: content was edited"
        assert screen.query_one("#verdict").has_class("-bad")
        assert any(
            n.severity == "error" and "row 2: content was edited" in n.message
            for n in app._notifications
        )
        # The cursor goes to the edited row so it can be read at once.
        table = screen.query_one(DataTable)
        assert table.ordered_rows[table.cursor_row].key.value == "2"


async def test_enter_shows_the_whole_entry(tui_engine: Engine) -> None:
    outage_history(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_audit(app, pilot)
        detail = screen.query_one("#detail")
        assert not detail.display
        await pilot.press("down", "enter")
        assert detail.display
        body = status(screen, "#detail-body")
        assert body.startswith("#11  ") and "ana  submit  outage" in body
        assert '"title": "Zamenjava transformatorja"' in body and '"revision": 1' in body
        assert "hash " in body and "prev " in body
        await pilot.press("down")
        assert status(screen, "#detail-body").startswith("#10  ")
        await pilot.press("escape")
        assert not detail.display
        assert isinstance(screen.focused, DataTable)


async def test_pages_load_on_demand(tui_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_screen, "PAGE", 5)
    outage_history(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_audit(app, pilot)
        assert keys(screen) == ["12", "11", "10", "9", "8"]
        assert "5 of 12 entries" in status(screen, "#count")
        await pilot.press("m")
        await settle(app, pilot)
        assert keys(screen) == [str(n) for n in range(12, 2, -1)]
        # Reaching the last row loads the rest; nothing is loaded twice.
        await pilot.press("end")
        await settle(app, pilot)
        assert keys(screen) == [str(n) for n in range(12, 0, -1)]
        assert "12 entries, newest first" in status(screen, "#count")
        assert screen.check_action("more", ()) is False


async def test_returning_shows_new_entries(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_audit(app, pilot)
        assert len(keys(screen)) == TEMPLATE_ENTRIES
        await pilot.press("f3")
        await settle(app, pilot)
        outage_history(tui_engine)
        await pilot.press("f5")
        await settle(app, pilot)
        assert keys(screen)[:3] == ["12", "11", "10"]


async def test_a_failed_read_is_reported_once(
    tui_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database is locked")

    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_audit(app, pilot)
        monkeypatch.setattr(audit, "list_entries", locked)
        await pilot.press("r")
        await settle(app, pilot)
        assert status(screen, "#count") == "could not read the audit log (r retries)"
        assert not screen.busy
        notices = [n for n in app._notifications if "database is locked" in n.message]
        assert [n.severity for n in notices] == ["error"]
        monkeypatch.undo()
        await pilot.press("r")
        await settle(app, pilot)
        assert len(keys(screen)) == TEMPLATE_ENTRIES


def test_list_entries_filters_in_sql(tui_engine: Engine) -> None:
    with write_transaction(tui_engine) as conn:
        audit.append(conn, actor="ana", action="note", entity="outage", entity_id="50%_off")
        audit.append(conn, actor="ana", action="note", entity="outage", entity_id="500")
    with tui_engine.connect() as conn:
        rows, total = audit.list_entries(conn, text="50%_")
        assert ([r.entity_id for r in rows], total) == (["50%_off"], 1)
        rows, total = audit.list_entries(conn, action="role_change", limit=2)
        assert ([r.entity_id for r in rows], total) == (["viktor", "olena"], 5)
        rows, total = audit.list_entries(conn, action="role_change", offset=4)
        assert ([r.entity_id for r in rows], total) == (["root"], 5)
        rows, older = audit.list_entries(conn, before_id=3)
        assert ([r.id for r in rows], older) == ([2, 1], 2)
        assert audit.list_actions(conn) == ["import", "note", "role_change"]
        assert rows[0].at.tzinfo is not None


SNAPSHOT_ENTRIES: list[dict[str, Any]] = [
    {"actor": "root", "action": "role_change", "entity": "user", "entity_id": "ana",
     "detail": {"from": None, "to": "dispatcher"}},
    {"actor": "ana", "action": "draft", "entity": "outage", "entity_id": 1,
     "detail": {"title": "Zamenjava transformatorja TP Labore"}},
    {"actor": "ana", "action": "submit", "entity": "outage", "entity_id": 1,
     "detail": {"title": "Zamenjava transformatorja TP Labore", "revision": 1}},
    {"actor": "olena", "action": "reject", "entity": "outage", "entity_id": 1,
     "detail": {"title": "Zamenjava transformatorja TP Labore", "revision": 1,
                "reason": "datum sovpada z ustavitvijo na sosednjem izvodu"}},
    {"actor": "ana", "action": "submit", "entity": "outage", "entity_id": 1,
     "detail": {"title": "Zamenjava transformatorja TP Labore", "revision": 2}},
    {"actor": "bohdan", "action": "approve", "entity": "outage", "entity_id": 1,
     "detail": {"title": "Zamenjava transformatorja TP Labore", "revision": 2}},
]  # fmt: skip


@pytest.fixture
def fixed_key(tmp_path: Path) -> Iterator[None]:
    """The hashes on the picture depend on the audit key: one that is the same every run."""
    path = tmp_path / "audit.key"
    path.write_text("5a" * 32 + "\n")
    path.chmod(0o600)
    with audit_anchor.restoring():
        audit.use_key_file(path)
        yield


def snapshot_app(engine: Engine) -> DispatchApp:
    """A log with fixed times (and key), so the picture is the same on every run."""
    with write_transaction(engine) as conn:
        conn.execute(delete(audit_log))
        start = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
        for n, entry in enumerate(SNAPSHOT_ENTRIES):
            audit.append(conn, **entry, at=start + timedelta(minutes=17 * n))
    return make_app(engine, "viktor")


@pytest.mark.usefixtures("fixed_key")
def test_audit_screen_snapshot(tui_engine: Engine, snap_compare: Any) -> None:
    app = snapshot_app(tui_engine)

    async def run_before(pilot: Pilot[None]) -> None:
        await open_audit(app, pilot)
        await pilot.press("down", "down", "enter")
        await settle(app, pilot)
        app.sub_title = "viktor (viewer)  ·  sqlite:///dispatch.sqlite"
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


@pytest.mark.usefixtures("fixed_key")
def test_audit_screen_snapshot_at_80x24(
    tui_engine: Engine, snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over SSH: the count and the verdict both whole ("3✓ audit log intact: 3 row" before)."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = snapshot_app(tui_engine)

    async def run_before(pilot: Pilot[None]) -> None:
        await open_audit(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        app.clear_notifications()  # the toast says it too; the status line is the point
        app.sub_title = "SANDBOX SMS · viktor (viewer)"
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
