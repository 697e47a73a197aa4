"""Four-eyes on screen: a shift lead sees a pending outage with its preview
and approves it; the author is refused with storage's words; a rejection
needs a reason and goes back to draft; a dispatcher cannot decide at all.
The snapshot fixes the preview's clock so the schedule never drifts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import Engine, select
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from dispatch_tui.app import DispatchApp
from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.dialogs.reason import ReasonDialog
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens.approvals import ApprovalsScreen
from dispatch_tui.storage import outage_lifecycle, outages
from dispatch_tui.storage.tables import node, utility
from dispatch_tui.widgets.preview_panel import PreviewPanel
from tests.tui.conftest import make_app
from tests.tui.test_app import settle

START = datetime(2030, 6, 3, 6, 0, tzinfo=UTC)
NOW = datetime(2030, 5, 20, 9, 0, tzinfo=UTC)


def submitted_outage(engine: Engine, author: str = "olena") -> int:
    with engine.connect() as conn:
        eg = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
        region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
    draft = OutageDraft(
        utility_id=eg,
        title="Zamenjava transformatorja",
        reason="vzdrževalna dela",
        starts_at=START,
        ends_at=START + timedelta(hours=4),
        selection=Selection(nodes=frozenset({region})),
    )
    outage_id = outage_lifecycle.create_draft(engine, draft, actor=author)
    outage_lifecycle.submit(engine, outage_id, actor=author)
    return outage_id


def status_of(engine: Engine, outage_id: int) -> outages.OutageRow:
    with engine.connect() as conn:
        return outages.get_outage(conn, outage_id).row


async def open_approvals(app: DispatchApp, pilot: Pilot[None]) -> ApprovalsScreen:
    await settle(app, pilot)
    await pilot.press("f4")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ApprovalsScreen)
    return screen


def panel_text(screen: Screen[None]) -> str:
    return "\n".join(str(s.render()) for s in screen.query_one(PreviewPanel).query(Static))


def current(app: DispatchApp) -> Screen[object]:
    """The active screen, read afresh (mypy keeps an earlier isinstance narrowing)."""
    return app.screen


def messages(app: DispatchApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_shift_lead_approves_with_the_preview_in_view(tui_engine: Engine) -> None:
    oid = submitted_outage(tui_engine)
    app = make_app(tui_engine, "bohdan")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_approvals(app, pilot)
        table = screen.query_one("#pending", DataTable)
        assert table.row_count == 1
        assert screen.highlighted() is not None
        assert "Zamenjava transformatorja" in str(screen.query_one("#outage", Static).render())
        text = panel_text(screen)
        assert "Metering points: 3" in text and "Subscribers: 2" in text
        assert "Warning: " in text
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
        assert current(app) is screen
        assert table.row_count == 0
        assert "Nothing is waiting for approval." in panel_text(screen)
        assert any(f"Outage #{oid} approved" in m for m in messages(app))
    row = status_of(tui_engine, oid)
    assert (row.status, row.approved_by) == ("approved", "bohdan")


async def test_author_is_refused_and_nothing_changes(tui_engine: Engine) -> None:
    oid = submitted_outage(tui_engine)
    app = make_app(tui_engine, "olena")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_approvals(app, pilot)
        assert "olena (you)" in str(screen.query_one("#outage", Static).render())
        await pilot.press("a")
        await settle(app, pilot)
        assert current(app) is screen
        refusal = [n for n in app._notifications if "you drafted this outage" in n.message]
        assert refusal and refusal[0].severity == "error"
        assert screen.query_one("#pending", DataTable).row_count == 1
    row = status_of(tui_engine, oid)
    assert (row.status, row.approved_by) == ("submitted", None)


async def test_reject_needs_a_reason(tui_engine: Engine) -> None:
    oid = submitted_outage(tui_engine)
    app = make_app(tui_engine, "bohdan")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_approvals(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ReasonDialog)
        await pilot.press("enter")
        await settle(app, pilot)
        assert current(app) is dialog
        assert "A reason is required." in str(dialog.query_one("#error", Label).render())
        assert status_of(tui_engine, oid).status == "submitted"
        dialog.query_one("#reason", Input).value = "Wrong feeder, check TP Labore"
        await pilot.press("enter")
        await settle(app, pilot)
        assert current(app) is screen
        assert screen.query_one("#pending", DataTable).row_count == 0
    row = status_of(tui_engine, oid)
    assert (row.status, row.rejection_reason) == ("draft", "Wrong feeder, check TP Labore")


async def test_dispatcher_cannot_decide(tui_engine: Engine) -> None:
    oid = submitted_outage(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_approvals(app, pilot)
        assert screen.query_one("#pending", DataTable).row_count == 1
        assert screen.check_action("approve", ()) is False
        assert screen.check_action("reject", ()) is False
        shown = {b.binding.action for b in screen.active_bindings.values() if b.enabled}
        assert "refresh" in shown and not {"approve", "reject"} & shown
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert current(app) is screen
    assert status_of(tui_engine, oid).status == "submitted"


async def test_refresh_finds_new_submissions(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "bohdan")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_approvals(app, pilot)
        table = screen.query_one("#pending", DataTable)
        assert table.row_count == 0
        assert screen.check_action("approve", ()) is None
        submitted_outage(tui_engine, author="ana")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert table.row_count == 1
        assert "Metering points: 3" in panel_text(screen)


class FixedClockApp(DispatchApp):
    """The approvals screen on a fixed clock, so the schedule is the same every run."""

    MODES: ClassVar[dict[str, str | Callable[[], Screen[None]]]] = {  # type: ignore[assignment]
        **DispatchApp.MODES,
        "approvals": lambda: ApprovalsScreen(now=lambda: NOW),
    }


def test_snapshot_of_one_pending_outage(tui_engine: Engine, snap_compare: object) -> None:
    submitted_outage(tui_engine, author="olena")
    base = make_app(tui_engine, "bohdan")
    app = FixedClockApp(tui_engine, sandbox=True, settings=base.settings, login="bohdan")

    async def run_before(pilot: Pilot[None]) -> None:
        await open_approvals(app, pilot)
        app.sub_title = "bohdan (shift_lead)  ·  test database"
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)  # type: ignore[operator]


def test_snapshot_of_the_approval_confirm_at_80x24(
    tui_engine: Engine, snap_compare: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the shift lead answers over SSH: the question and every warning, wrapped,
    nothing cut at the dialog's edge."""
    monkeypatch.setenv("NO_COLOR", "1")
    submitted_outage(tui_engine, author="olena")
    base = make_app(tui_engine, "bohdan")
    app = FixedClockApp(tui_engine, sandbox=True, settings=base.settings, login="bohdan")

    async def run_before(pilot: Pilot[None]) -> None:
        await open_approvals(app, pilot)
        app.sub_title = "bohdan (shift_lead)  ·  test database"
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)  # type: ignore[operator]
