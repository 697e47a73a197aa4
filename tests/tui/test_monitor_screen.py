"""The monitor, driven through the real app: progress shows, and retry,
pause and cancel change the database only after confirmation and only for
roles that may."""

from __future__ import annotations

from sqlalchemy import Engine, select, update
from textual.widgets import DataTable

from dispatch_tui.screens.monitor import MonitorScreen
from dispatch_tui.storage.tables import channel_control, engine_process, message
from tests.engine.factory import make_outbox, message_states
from tests.tui.conftest import make_app
from tests.tui.test_app import settle


def with_failures(engine: Engine) -> int:
    notice_id = make_outbox(engine, 10)
    with engine.begin() as conn:
        conn.execute(
            update(message)
            .where(message.c.id <= 3)
            .values(status="failed", attempts=1, last_error="gateway said 400 bad number")
        )
    return notice_id


def cells(app: object, table: str) -> list[list[str]]:
    widget = app.screen.query_one(f"#{table}", DataTable)  # type: ignore[attr-defined]
    return [[str(c) for c in widget.get_row_at(i)] for i in range(widget.row_count)]


async def test_progress_failures_and_levers(tui_engine: Engine) -> None:
    notice_id = with_failures(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        assert isinstance(app.screen, MonitorScreen)
        [notice] = cells(app, "notices")
        assert notice[4:] == ["10", "7"]
        [sms] = cells(app, "channels")
        assert sms[0] == "sms" and "30%" in sms[1]
        assert sms[2] == "7" and sms[7] == "3"
        problems = cells(app, "problems")
        assert len(problems) == 3 and "400 bad number" in problems[0][-1]

        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("escape")  # "no": nothing changes
        await settle(app, pilot)
        assert message_states(tui_engine, notice_id)["failed"] == 3
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.click("#yes")
        await settle(app, pilot)
        assert message_states(tui_engine, notice_id) == {"pending": 10}

        app.screen.query_one("#channels", DataTable).focus()
        await pilot.press("p")
        await settle(app, pilot)
        app.screen.reload()
        await settle(app, pilot)
        with tui_engine.connect() as conn:
            assert conn.execute(select(channel_control.c.paused)).scalar_one() is True
        assert "PAUSED" in cells(app, "channels")[0][-1]

        await pilot.press("c")
        await settle(app, pilot)
        await pilot.click("#yes")
        await settle(app, pilot)
        assert message_states(tui_engine, notice_id) == {"cancelled": 10}


async def test_a_viewer_is_refused_and_an_empty_monitor_changes_nothing(
    tui_engine: Engine,
) -> None:
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        await pilot.press("r", "p", "c")
        await settle(app, pilot)
        texts = [str(n.message) for n in app._notifications]
        assert any("No notice is highlighted" in t for t in texts)
        assert any("No channel is highlighted" in t for t in texts)
    notice_id = with_failures(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        app.screen.query_one("#channels", DataTable).focus()
        await pilot.press("p")
        await settle(app, pilot)
        texts = [str(n.message) for n in app._notifications]
        assert any("viewer" in t for t in texts), texts
    with tui_engine.connect() as conn:
        assert conn.execute(select(channel_control)).all() == []
    assert message_states(tui_engine, notice_id)["failed"] == 3


async def test_the_embedded_engine_sends_and_says_so(tui_engine: Engine) -> None:
    notice_id = make_outbox(tui_engine, 5)
    app = make_app(tui_engine, "ana", embedded=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "engine: running" in app.sub_title
        for _ in range(200):
            if set(message_states(tui_engine, notice_id)) <= {
                "sent",
                "delivered",
                "failed",
                "unknown",
            }:
                break
            await pilot.pause(0.05)
        states = message_states(tui_engine, notice_id)
        assert sum(states.values()) == 5 and not {"pending", "sending"} & set(states)
    with tui_engine.connect() as conn:
        stopped = conn.execute(select(engine_process.c.stopped_at)).scalars().all()
    assert len(stopped) == 1 and stopped[0] is not None
