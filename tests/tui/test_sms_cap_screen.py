"""An outage whose SMS is over the cap: `a` asks how (transliterate, accept the
parts, or back) instead of a plain yes, and the choice reaches storage."""

from __future__ import annotations

from sqlalchemy import Engine, update
from textual.widgets import Label

from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.dialogs.sms_cap import SmsCapDialog
from dispatch_tui.storage.tables import outage
from tests.storage.test_sms_cap import LONG
from tests.tui.conftest import make_app
from tests.tui.test_app import settle
from tests.tui.test_approvals_screen import (
    current,
    open_approvals,
    status_of,
    submitted_outage,
)


def long_reasoned(engine: Engine) -> int:
    oid = submitted_outage(engine)
    with engine.begin() as conn:
        conn.execute(update(outage).where(outage.c.id == oid).values(reason=LONG))
    return oid


async def test_over_the_cap_asks_and_transliterates(tui_engine: Engine) -> None:
    oid = long_reasoned(tui_engine)
    app = make_app(tui_engine, "bohdan")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_approvals(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        dialog = current(app)
        assert isinstance(dialog, SmsCapDialog)
        question = str(dialog.query_one("#question", Label).render())
        assert "Over the cap of 3 segments: en 5, sl 6." in question
        assert "Transliterated to GSM-7 it fits 3 segments." in question
        await pilot.press("escape")
        await settle(app, pilot)
        assert current(app) is screen
        assert status_of(tui_engine, oid).status == "submitted"
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        assert current(app) is screen
    row = status_of(tui_engine, oid)
    assert (row.status, row.sms_decision) == ("approved", {"transliterate": True})


async def test_accepting_the_parts(tui_engine: Engine) -> None:
    oid = long_reasoned(tui_engine)
    app = make_app(tui_engine, "bohdan")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_approvals(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert not isinstance(current(app), ConfirmDialog)
        await pilot.press("x")
        await settle(app, pilot)
    row = status_of(tui_engine, oid)
    assert row.status == "approved"
    assert row.sms_decision == {"accepted_segments": {"en": 5, "sl": 6}, "cap": 3}
