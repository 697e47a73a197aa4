"""The outages screen: the list filters and sorts in the database, windows show
in each utility's local time, row actions go through storage (which audits
them), the amend dialog refuses bad input in place, the detail shows a
rejection to its author, and a viewer cannot change anything."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine, select, update
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from dispatch_tui.app import DispatchApp
from dispatch_tui.dialogs.amend import AmendDialog
from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.dialogs.reason import ReasonDialog
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens import outages as outages_screen
from dispatch_tui.screens.outage_detail import OutageDetailScreen
from dispatch_tui.screens.outages import OutagesScreen, OutageTable
from dispatch_tui.storage import outage_lifecycle, outages
from dispatch_tui.storage.tables import audit_log, node, notice, outage, utility
from dispatch_tui.widgets.formatting import format_window
from tests.tui.conftest import make_app
from tests.tui.test_app import settle

FIXED = datetime(2030, 5, 20, 9, 30, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed(engine: Engine) -> dict[str, int]:
    """Five outages in three utilities and every state the screen treats differently."""
    with engine.connect() as conn:
        nodes = dict(conn.execute(select(node.c.code, node.c.id)).all())
        utilities = dict(conn.execute(select(utility.c.code, utility.c.id)).all())

    def draft(code: str, node_code: str, title: str, start: str, end: str, actor: str) -> int:
        return outage_lifecycle.create_draft(
            engine,
            OutageDraft(
                utility_id=utilities[code],
                title=title,
                reason="vzdrževalna dela",
                starts_at=at(start),
                ends_at=at(end),
                selection=Selection(nodes=frozenset({nodes[node_code]})),
            ),
            actor=actor,
        )

    ids = {
        "approved": draft(
            "EG",
            "EG-R1",
            "Menjava transformatorja",
            "2030-06-03 06:00",
            "2030-06-03 10:00",
            "ana",
        ),
        "rejected": draft(
            "EG", "EG-TP2", "Menjava števcev Labore", "2030-06-04 05:00", "2030-06-04 07:30", "ana"
        ),
        "draft": draft(
            "ZOE", "Z-R1", "Ремонт ПЛ 10 кВ", "2030-06-05 06:00", "2030-06-05 14:00", "ana"
        ),
        "submitted": draft(
            "EH", "B-R1", "Поддръжка п/ст Люлин", "2030-06-06 07:00", "2030-06-06 09:00", "ana"
        ),
        "night": draft(
            "EG", "EG-TP1", "Night works [DST]", "2030-10-27 00:00", "2030-10-27 03:00", "olena"
        ),
    }
    for key in ("approved", "rejected", "submitted"):
        outage_lifecycle.submit(engine, ids[key], actor="ana")
    outage_lifecycle.approve(engine, ids["approved"], actor="bohdan")
    outage_lifecycle.reject(
        engine, ids["rejected"], "Wrong feeder, check TP Labore", actor="bohdan"
    )
    return ids


def status_of(engine: Engine, outage_id: int) -> outages.OutageRow:
    with engine.connect() as conn:
        return outages.get_outage(conn, outage_id).row


async def open_outages(app: DispatchApp, pilot: Pilot[None]) -> tuple[OutagesScreen, OutageTable]:
    await settle(app, pilot)
    await pilot.press("f3")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, OutagesScreen)
    return screen, screen.query_one(OutageTable)


def rendered(widget: Static) -> str:
    """What a Static shows as plain text, even when it holds a Rich table."""
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def titles(table: OutageTable) -> list[str]:
    return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


async def highlight(pilot: Pilot[None], table: OutageTable, outage_id: int) -> None:
    table.move_cursor(row=table.get_row_index(str(outage_id)))
    await pilot.pause()


def test_window_is_local_and_dst_correct() -> None:
    summer = format_window(at("2030-06-03 06:00"), at("2030-06-03 10:00"), "Europe/Ljubljana")
    assert summer == "2030-06-03 08:00–12:00 CEST"
    winter = format_window(at("2030-01-10 06:00"), at("2030-01-10 10:00"), "Europe/Ljubljana")
    assert winter == "2030-01-10 07:00–11:00 CET"
    change = format_window(at("2030-10-27 00:00"), at("2030-10-27 03:00"), "Europe/Ljubljana")
    assert change == "2030-10-27 02:00 CEST–04:00 CET"
    overnight = format_window(at("2030-06-03 20:00"), at("2030-06-04 02:00"), "Europe/Kyiv")
    assert overnight == "2030-06-03 23:00–06-04 05:00 EEST"


async def test_table_lists_every_outage(tui_engine: Engine) -> None:
    ids = seed(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_outages(app, pilot)
        assert table.row_count == 5
        row = [str(c) for c in table.get_row(str(ids["approved"]))]
        assert row == [
            str(ids["approved"]),
            "approved",
            "Menjava transformatorja",
            "2030-06-03 08:00–12:00 CEST",
            "3/2",
            "ana",
            "bohdan",
        ]
        assert str(table.get_row(str(ids["rejected"]))[1]) == "rejected"
        assert str(table.get_row(str(ids["draft"]))[3]) == "2030-06-05 09:00–17:00 EEST"
        assert titles(table)[0] == "Menjava transformatorja"
        summary = str(screen.query_one("#summary", Static).render())
        assert "Outages: 5 of 5" in summary and "sorted by window, earliest first" in summary


async def test_text_and_status_filters_narrow(tui_engine: Engine) -> None:
    seed(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_outages(app, pilot)
        await pilot.press("slash")
        assert screen.query_one("#text", Input).has_focus
        await pilot.press(*"labore")
        await settle(app, pilot)
        assert titles(table) == ["Menjava števcev Labore"]
        await pilot.press("enter")
        assert table.has_focus
        screen.query_one("#text", Input).value = ""
        await settle(app, pilot)
        assert table.row_count == 5
        await pilot.press("f")
        await settle(app, pilot)
        assert screen.query_one("#status", Select).value == "draft"
        assert sorted(titles(table)) == [
            "Menjava števcev Labore",
            "Night works [DST]",
            "Ремонт ПЛ 10 кВ",
        ]
        await pilot.press("f")
        await settle(app, pilot)
        assert titles(table) == ["Поддръжка п/ст Люлин"]
        assert "status submitted" in str(screen.query_one("#summary", Static).render())


async def test_sort_cycles_and_reverses(tui_engine: Engine) -> None:
    seed(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_outages(app, pilot)
        assert titles(table)[-1] == "Night works [DST]"
        await pilot.press("r")
        await settle(app, pilot)
        assert titles(table)[0] == "Night works [DST]"
        assert str(table.ordered_columns[3].label) == "window (local time) ▼"
        await pilot.press("s", "s")
        await settle(app, pilot)
        assert screen.filters.sort == "title"
        assert titles(table) == sorted(titles(table))
        assert "sorted by title, A–Z" in str(screen.query_one("#summary", Static).render())


async def test_pages_load_on_demand(tui_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(tui_engine)
    monkeypatch.setattr(outages_screen, "PAGE", 2)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_outages(app, pilot)
        assert table.row_count == 2
        assert "Outages: 2 of 5" in str(screen.query_one("#summary", Static).render())
        await pilot.press("m")
        await settle(app, pilot)
        assert table.row_count == 4
        await pilot.press("down", "down", "down")
        await settle(app, pilot)
        assert table.row_count == 5
        assert not screen.check_action("more", ())


async def test_cancel_asks_warns_and_is_audited(tui_engine: Engine) -> None:
    ids = seed(tui_engine)
    with tui_engine.begin() as conn:
        conn.execute(
            update(notice)
            .where(notice.c.outage_id == ids["approved"], notice.c.kind == "advance")
            .values(status="done")
        )
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        _screen, table = await open_outages(app, pilot)
        await highlight(pilot, table, ids["approved"])
        await pilot.press("c")
        await settle(app, pilot)
        dialog = app.screen
        # An approved outage is cancelled with a reason, which the audit keeps.
        assert isinstance(dialog, ReasonDialog)
        assert "customers already told will get a cancellation notice" in dialog.prompt
        await pilot.press("escape")
        await settle(app, pilot)
        assert status_of(tui_engine, ids["approved"]).status == "approved"
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert status_of(tui_engine, ids["approved"]).status == "approved", "no reason, no cancel"
        await pilot.press(*"Storm damage")
        await pilot.press("enter")
        await settle(app, pilot)
        assert status_of(tui_engine, ids["approved"]).status == "cancelled"
        assert str(table.get_row(str(ids["approved"]))[1]) == "cancelled"
        assert table.cursor_row == table.get_row_index(str(ids["approved"]))
    with tui_engine.connect() as conn:
        audited = conn.execute(
            select(audit_log.c.actor, audit_log.c.action).where(
                audit_log.c.entity == "outage", audit_log.c.entity_id == str(ids["approved"])
            )
        ).all()
        kinds = conn.execute(
            select(notice.c.kind).where(
                notice.c.outage_id == ids["approved"], notice.c.status == "scheduled"
            )
        ).scalars()
        assert ("ana", "cancel") in [tuple(r) for r in audited]
        reason = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "cancel")
        ).scalar_one()
        assert "Storm damage" in str(reason)
        assert "cancellation" in list(kinds)


async def test_bad_amend_is_explained_and_changes_nothing(tui_engine: Engine) -> None:
    ids = seed(tui_engine)
    before = status_of(tui_engine, ids["approved"])
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        _screen, table = await open_outages(app, pilot)
        await highlight(pilot, table, ids["approved"])
        await pilot.press("a")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, AmendDialog)
        assert dialog.query_one("#start", Input).value == "2030-06-03 08:00"

        async def attempt(start: str, end: str) -> str:
            dialog.query_one("#start", Input).value = start
            dialog.query_one("#end", Input).value = end
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert app.screen is dialog
            return str(dialog.query_one("#errors", Static).render())

        assert "start: 'tomorrow' is not a date and time like YYYY-MM-DD HH:MM" in await attempt(
            "tomorrow", "2030-06-03 12:00"
        )
        assert "end: must be after the start" in await attempt(
            "2030-06-03 09:00", "2030-06-03 08:30"
        )
        errors = await attempt("2031-03-30 02:30", "2031-03-30 05:00")
        assert "does not exist in Europe/Ljubljana (clocks go forward)" in errors
        errors = await attempt("2030-10-27 02:30", "2030-10-27 05:00")
        assert "happens twice in Europe/Ljubljana (clocks go back)" in errors
        assert "unchanged" in await attempt("2030-06-03 08:00", "2030-06-03 12:00")
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, OutagesScreen)
    assert status_of(tui_engine, ids["approved"]) == before


async def test_amending_an_approved_outage_needs_a_new_approval(tui_engine: Engine) -> None:
    ids = seed(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        _screen, table = await open_outages(app, pilot)
        await highlight(pilot, table, ids["approved"])
        await pilot.press("a")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, AmendDialog)
        dialog.query_one("#start", Input).value = "2030-06-07 09:00"
        dialog.query_one("#end", Input).value = "2030-06-07 13:30"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, OutagesScreen)
        row = [str(cell) for cell in table.get_row(str(ids["approved"]))]
        assert row[1:4] == ["amended", "Menjava transformatorja", "2030-06-07 09:00–13:30 CEST"]
        assert table.get_row_index(str(ids["approved"])) == 3, "the window sort moved it"
        assert table.cursor_row == 3, "the cursor stays on the amended outage"
    stored = status_of(tui_engine, ids["approved"])
    assert (stored.status, stored.revision, stored.amended_by, stored.approved_by) == (
        "submitted",
        2,
        "ana",
        None,
    )
    assert (stored.starts_at, stored.ends_at) == (at("2030-06-07 07:00"), at("2030-06-07 11:30"))


async def test_withdraw_and_delete(tui_engine: Engine) -> None:
    ids = seed(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_outages(app, pilot)
        await highlight(pilot, table, ids["submitted"])
        assert screen.check_action("delete_draft", ()) is None
        await pilot.press("w")
        await settle(app, pilot)
        assert status_of(tui_engine, ids["submitted"]).status == "draft"
        await highlight(pilot, table, ids["draft"])
        await pilot.press("delete")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
        assert table.row_count == 4
        assert str(ids["draft"]) not in [r.key.value for r in table.ordered_rows]


async def test_detail_shows_the_rejection_to_its_author(tui_engine: Engine) -> None:
    ids = seed(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        _screen, table = await open_outages(app, pilot)
        await highlight(pilot, table, ids["rejected"])
        await pilot.press("enter")
        await settle(app, pilot)
        detail = app.screen
        assert isinstance(detail, OutageDetailScreen)
        rejection = detail.query_one("#rejection", Static)
        assert rejection.display
        text = str(rejection.render())
        assert "REJECTED" in text and "Wrong feeder, check TP Labore" in text
        assert "You drafted this outage" in text
        fields = rendered(detail.query_one("#fields", Static))
        assert "2030-06-04 07:00–09:30 CEST" in fields
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, OutagesScreen)


async def test_viewer_cannot_cancel(tui_engine: Engine) -> None:
    ids = seed(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(100, 30)) as pilot:
        screen, table = await open_outages(app, pilot)
        await highlight(pilot, table, ids["approved"])
        for action in ("cancel_outage", "amend", "withdraw", "delete_draft"):
            assert screen.check_action(action, ()) is False
        assert "c" not in screen.active_bindings
        await pilot.press("c", "a", "w", "delete")
        await settle(app, pilot)
        assert app.screen is screen
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, OutageDetailScreen)
    assert status_of(tui_engine, ids["approved"]).status == "approved"


def fixed_screen(
    then: Callable[[OutagesScreen, OutageTable], Awaitable[None]] | None = None,
) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Open the outages mode with a subtitle that does not name the temporary database."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, DispatchApp)
        screen, table = await open_outages(app, pilot)
        app.sub_title = "SANDBOX SMS · ana (dispatcher) · tui.sqlite"
        if then is not None:
            await then(screen, table)
            await settle(app, pilot)

    return run_before


def test_snapshot_outages(tui_engine: Engine, snap_compare: Any) -> None:
    seed(tui_engine)
    app = make_app(tui_engine, "ana")
    assert snap_compare(app, terminal_size=(100, 30), run_before=fixed_screen())


def test_snapshot_outages_at_80x24(
    tui_engine: Engine, snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over SSH the list drops the approver, the year and the metering points so that no
    column is cut, the author included."""
    monkeypatch.setenv("NO_COLOR", "1")
    seed(tui_engine)
    app = make_app(tui_engine, "ana")
    assert snap_compare(app, terminal_size=(80, 24), run_before=fixed_screen())


def test_snapshot_detail(tui_engine: Engine, snap_compare: Any) -> None:
    ids = seed(tui_engine)
    with tui_engine.begin() as conn:
        conn.execute(update(outage).values(updated_at=FIXED))
    app = make_app(tui_engine, "ana")

    async def open_rejected(screen: OutagesScreen, table: OutageTable) -> None:
        table.move_cursor(row=table.get_row_index(str(ids["rejected"])))
        table.action_select_cursor()

    assert snap_compare(app, terminal_size=(100, 30), run_before=fixed_screen(open_rejected))


def test_snapshot_detail_at_80x24(
    tui_engine: Engine, snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over SSH: the detail names the nodes of the area, one a line, nothing cut."""
    monkeypatch.setenv("NO_COLOR", "1")
    ids = seed(tui_engine)
    with tui_engine.begin() as conn:
        conn.execute(update(outage).values(updated_at=FIXED))
    app = make_app(tui_engine, "ana")

    async def open_rejected(screen: OutagesScreen, table: OutageTable) -> None:
        table.move_cursor(row=table.get_row_index(str(ids["rejected"])))
        table.action_select_cursor()

    assert snap_compare(app, terminal_size=(80, 24), run_before=fixed_screen(open_rejected))
