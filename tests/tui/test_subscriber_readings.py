"""A subscriber's meter readings on the Subscribers screen through the real app: `r`
lists them, `m` on one records a meter change at its point (an operator's, audited;
a viewer is refused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from textual.widgets import DataTable

from dispatch_tui.dialogs.readings import ReadingsDialog
from dispatch_tui.storage.inbound import handle_inbound
from dispatch_tui.storage.tables import audit_log, meter_reading
from tests.tui.conftest import make_app
from tests.tui.test_app import settle
from tests.tui.test_subscribers_screen import find

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


def readings(engine: Engine) -> None:
    for text, at in (("100000002 12345", NOW - timedelta(days=30)), ("100000002 100", NOW)):
        handle_inbound(engine, sender="+380501234567", receiver="ZOE", text=text, now=at)


async def test_readings_listed_and_a_meter_change_recorded(tui_engine: Engine) -> None:
    readings(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "100000002")
        await pilot.press("r")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ReadingsDialog)
        table = dialog.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0][:4] == ["", "100000002", "100", "sms"]
        assert rows[0][5] == "refused: below_previous"
        assert rows[1][0] == "2026-10" and rows[1][5] == "accepted"
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("0", "enter")
        await settle(app, pilot)
        await pilot.press(*"replaced 28.11", "enter")
        await settle(app, pilot)
    with tui_engine.connect() as conn:
        change = conn.execute(select(meter_reading).where(meter_reading.c.meter_change)).one()
        audited = conn.execute(select(audit_log).where(audit_log.c.action == "meter_change"))
        assert audited.one().detail["note"] == "replaced 28.11"
    assert (change.actor, change.value_wh, change.channel) == ("ana", 0, "operator")


async def test_a_viewer_sees_readings_but_records_no_meter_change(tui_engine: Engine) -> None:
    readings(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "100000002")
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("0", "enter")
        await settle(app, pilot)
        await pilot.press(*"asked", "enter")
        await settle(app, pilot)
        texts = [str(n.message) for n in app._notifications]
        assert any("viewer" in t for t in texts), texts
    with tui_engine.connect() as conn:
        assert conn.execute(select(meter_reading).where(meter_reading.c.meter_change)).all() == []
