"""A shift lead reviewing an amendment sees the window before and after, how many
customers were already told, and the exact amendment text they will get; the list and
the confirm say it is an amendment (issue 12: "amendments cannot be reviewed")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from textual.widgets import DataTable, Label, Static

from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.storage import fanout, outage_lifecycle, outbox
from dispatch_tui.storage.tables import notice
from dispatch_tui.widgets.preview_panel import PreviewPanel
from tests.tui.conftest import make_app
from tests.tui.test_app import settle
from tests.tui.test_approvals_screen import (
    START,
    FixedClockApp,
    current,
    open_approvals,
    submitted_outage,
)


def told_then_amended(engine: Engine) -> int:
    """Approved by bohdan, its advance notice sent by SMS, then amended by ana (+1 h)."""
    oid = submitted_outage(engine, author="olena")
    with engine.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid, now=START - timedelta(days=14))
    outage_lifecycle.approve(engine, oid, actor="bohdan", warnings_seen=warnings)
    with engine.connect() as conn:
        nid, due = conn.execute(
            select(notice.c.id, notice.c.due_at)
            .where(notice.c.outage_id == oid, notice.c.kind == "advance")
            .order_by(notice.c.id)
        ).first() or (None, None)
    assert nid is not None and due is not None
    assert fanout.fan_out(engine, nid, owner="t", now=due) is not None
    claimed = outbox.claim_batch(engine, owner="t", channels=["sms"], limit=100, now=due)
    outbox.record_results(
        engine, owner="t", results=[outbox.Result(m.id, "sent") for m in claimed], now=due
    )
    later = timedelta(hours=1)
    outage_lifecycle.amend(
        engine, oid, START + later, START + timedelta(hours=4) + later, actor="ana"
    )
    return oid


async def test_the_approver_sees_old_and_new_and_who_was_told(tui_engine: Engine) -> None:
    told_then_amended(tui_engine)
    base = make_app(tui_engine, "bohdan")
    app = FixedClockApp(tui_engine, sandbox=True, settings=base.settings, login="bohdan")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_approvals(app, pilot)
        await settle(app, pilot)
        entry = str(screen.query_one("#pending", DataTable).get_row_at(0)[0])
        assert entry.startswith("AMENDED")
        panel = screen.query_one(PreviewPanel)
        review = str(panel.query_one(".amendment", Static).render())
        assert "Was: 2030-06-03 Mon 08:00–12:00 CEST" in review
        assert "Now: 2030-06-03 Mon 09:00–13:00 CEST" in review
        assert "Changed by ana" in review
        assert "2 subscribers already told get the amendment" in review
        texts = [str(s.render()) for s in panel.query(".sample").results(Static)]
        assert any("Nov termin" in t for t in texts), texts
        await pilot.press("a")
        await settle(app, pilot)
        dialog = current(app)
        assert isinstance(dialog, ConfirmDialog)
        question = str(dialog.query_one("#question", Label).render())
        assert "amended window" in question and "2 subscribers already told" in question


def test_snapshot_of_an_amendment_at_80x24(
    tui_engine: Engine, snap_compare: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    told_then_amended(tui_engine)
    base = make_app(tui_engine, "bohdan")
    app = FixedClockApp(tui_engine, sandbox=True, settings=base.settings, login="bohdan")

    async def run_before(pilot: object) -> None:
        await open_approvals(app, pilot)  # type: ignore[arg-type]
        app.sub_title = "bohdan (shift_lead)  ·  test database"
        await settle(app, pilot)  # type: ignore[arg-type]

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)  # type: ignore[operator]
