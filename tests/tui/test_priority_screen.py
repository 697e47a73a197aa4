"""The shift lead sees how many priority customers are still to call, lists them with
their phones, marks a call (recorded) and exports the list for whoever phones."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine
from textual.widgets import DataTable, Static

from dispatch_tui.screens.priority import PriorityScreen
from dispatch_tui.storage import priority
from tests.tui.conftest import make_app
from tests.tui.test_app import settle
from tests.tui.test_approvals_screen import current, open_approvals, submitted_outage


def summary(app: object) -> str:
    return str(current(app).query_one("#outage", Static).render())  # type: ignore[arg-type]


async def test_calls_are_listed_marked_and_exported(
    tui_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    oid = submitted_outage(tui_engine, author="olena")
    app = make_app(tui_engine, "bohdan")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_approvals(app, pilot)
        await settle(app, pilot)
        assert "Priority customers to call: 1 of 1" in summary(app)
        await pilot.press("p")
        await settle(app, pilot)
        screen = current(app)
        assert isinstance(screen, PriorityScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[0]) == "6-100003"
        assert "+386" in str(table.get_row_at(0)[3])
        await pilot.press("c")
        await settle(app, pilot)
        assert str(table.get_row_at(0)[4]).startswith("✓ bohdan")
        assert screen.check_action("mark_called", ()) is None, "a second mark is off"
        await pilot.press("x")
        await settle(app, pilot)
        exported = tmp_path / f"dispatch-tui-priority-outage-{oid}.csv"
        assert stat.S_IMODE(exported.stat().st_mode) == 0o600
        rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
        assert [(r["metering_point"], r["called_by"]) for r in rows] == [("6-100003", "bohdan")]
        await pilot.press("escape")
        await settle(app, pilot)
        assert "Priority customers to call: 0 of 1" in summary(app)
    with tui_engine.connect() as conn:
        assert priority.uncalled_count(conn, oid) == (1, 0)


async def test_a_viewer_sees_the_list_but_cannot_mark(tui_engine: Engine) -> None:
    oid = submitted_outage(tui_engine, author="olena")
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.push_screen(PriorityScreen(oid, "Zamenjava transformatorja"))
        await settle(app, pilot)
        screen = current(app)
        assert isinstance(screen, PriorityScreen)
        assert screen.query_one(DataTable).row_count == 1
        assert screen.check_action("mark_called", ()) is False
        await pilot.press("c")
        await settle(app, pilot)
    with tui_engine.connect() as conn:
        assert priority.uncalled_count(conn, oid) == (1, 1)
