"""The Campaigns screen (F9) in the real app: drafting through the dialog, a refusal
shown word for word, four-eyes between two operators, cancelling; and its look at
80×24 with NO_COLOR."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select

from dispatch_tui.dialogs.campaign_draft import CampaignDraftDialog
from dispatch_tui.domain.campaign import CampaignDraft
from dispatch_tui.screens.campaigns import CampaignsScreen
from dispatch_tui.storage import campaigns
from dispatch_tui.storage.tables import campaign
from tests.storage.campaign_world import World, populate, snapshot
from tests.tui.conftest import make_app
from tests.tui.test_app import settle
from tests.tui.test_snapshots import NARROW, fixed_engine, fixed_path_lock, no_color

__all__ = ["fixed_engine", "fixed_path_lock", "no_color"]


def with_balances(engine: Engine) -> World:
    world = populate(engine)
    snapshot(
        engine,
        world.eh,
        [(sid, 4250, date(2026, 9, 15), None) for sid in world.accounts.values()],
        as_of=datetime(2026, 10, 1, tzinfo=UTC),
    )
    return world


def statuses(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [
            (str(s), a)
            for s, a in conn.execute(
                select(campaign.c.status, campaign.c.approved_by).order_by(campaign.c.id)
            )
        ]


async def said(app: Any, pilot: Pilot[None], text: str) -> None:
    """Wait (a few seconds at most) for a notification saying `text`: a refusal comes
    from a worker thread, and on a loaded machine after `settle` has returned."""
    for _ in range(100):
        if any(text in n.message for n in app._notifications):
            return
        await pilot.pause(0.05)
    shown = [n.message for n in app._notifications]
    raise AssertionError(f"no notification said {text!r}: {shown}")


async def test_draft_submit_approve_by_another_and_cancel(tui_engine: Engine) -> None:
    world = with_balances(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f9")
        await settle(app, pilot)
        assert isinstance(app.screen, CampaignsScreen)
        await pilot.press("n")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, CampaignDraftDialog)
        dialog.query_one("#days", Input).value = "ten"
        await pilot.click("#ok")
        await settle(app, pilot)
        assert "days overdue: 'ten' is not a whole number" in str(
            dialog.query_one("#error").render()
        )
        dialog.query_one("#days", Input).value = "10"
        # Pressed, not clicked: the error line above it may have moved the button since
        # the last layout, and a click there lands beside it.
        dialog.query_one("#ok", Button).press()  # Elektro Gorenjska, first by name: no balances
        await settle(app, pilot)
        await said(app, pilot, "EG: no balances imported yet")
        assert statuses(tui_engine) == []
        await pilot.press("n")
        await settle(app, pilot)
        app.screen.query_one("#utility", Select).value = world.eh
        app.screen.query_one("#channels", Input).value = "sms, email"
        await pilot.click("#ok")
        await settle(app, pilot)
        assert statuses(tui_engine) == [("draft", None)]
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press("a", "y")
        await settle(app, pilot)
        await said(app, pilot, "a dispatcher may not approve campaigns")
        assert statuses(tui_engine) == [("submitted", None)]
        shown = str(app.screen.query_one("#preview").render())
        assert "Recipients now: 4 (1 email, 3 sms)" in shown
    app = make_app(tui_engine, "bohdan")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f9")
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        question = str(app.screen.query_one("#question").render())
        assert "#1 (payment reminder, 10+ days overdue), drafted by ana?" in question
        assert "4 messages now, SMS 7 segments" in question
        await pilot.press("y")
        await settle(app, pilot)
        assert statuses(tui_engine) == [("approved", "bohdan")]
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert statuses(tui_engine) == [("cancelled", "bohdan")]


async def _open_campaigns(pilot: Pilot[None]) -> None:
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.press("f9")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]


def test_campaigns_screen_at_80x24(snap_compare: Any, fixed_engine: Engine, no_color: None) -> None:
    """A submitted payment reminder of Electrohold: its preview with the Bulgarian SMS
    and e-mail and the English SMS, counts and cost."""
    world = with_balances(fixed_engine)
    draft = CampaignDraft(
        world.eh, "payment_reminder", ("sms", "email"), datetime(2031, 1, 15, 8, tzinfo=UTC), 10
    )
    cid = campaigns.create_draft(fixed_engine, draft, actor="ana")
    campaigns.submit(fixed_engine, cid, actor="ana")
    assert snap_compare(
        make_app(fixed_engine, "bohdan"), terminal_size=NARROW, run_before=_open_campaigns
    )


async def test_a_reading_reminder_is_due_as_the_utilitys_window_opens(tui_engine: Engine) -> None:
    world = with_balances(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f9")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, CampaignDraftDialog)
        dialog.query_one("#utility", Select).value = world.eh
        dialog.query_one("#kind", Select).value = "reading_reminder"
        await settle(app, pilot)
        with tui_engine.connect() as conn:
            opens = campaigns.reading_reminder_due(conn, world.eh, dialog.now)
        draft = dialog.draft()
        assert draft.due_at == opens
        assert opens > dialog.now
