"""The monitor, driven through the real app: progress shows and follows the
database every second, and retry, pause and cancel change the database only
after confirmation and only for roles that may."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select, update
from textual.widgets import DataTable, Static

from dispatch_tui.app import DispatchApp
from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.screens.monitor import MonitorScreen
from dispatch_tui.storage.tables import audit_log, channel_control, engine_process, message, notice
from tests.engine.factory import make_outbox, message_states
from tests.tui.conftest import make_app
from tests.tui.test_app import settle

SIZE = (120, 40)


def with_failures(engine: Engine) -> int:
    """Ten sms: 1-3 failed, the rest pending."""
    notice_id = make_outbox(engine, 10)
    with engine.begin() as conn:
        conn.execute(
            update(message)
            .where(message.c.id <= 3)
            .values(status="failed", attempts=1, last_error="gateway said 400 bad number")
        )
    return notice_id


def another_notice(engine: Engine, first: int, kind: str, due_in: timedelta) -> int:
    """Another notice of the same outage to the same contacts, all pending."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == first)
        ).scalar_one()
        nid = conn.execute(
            insert(notice).returning(notice.c.id),
            {
                "outage_id": outage_id,
                "kind": kind,
                "channels": ["sms"],
                "due_at": now + due_in,
                "status": "done",
                "outage_revision": 1,
                "created_at": now,
            },
        ).scalar_one()
        rows = conn.execute(select(message).where(message.c.notice_id == first)).mappings()
        conn.execute(
            insert(message),
            [
                {
                    **{k: v for k, v in row.items() if k not in ("id", "notice_id")},
                    "notice_id": nid,
                    "status": "pending",
                    "last_error": None,
                }
                for row in rows
            ],
        )
    return int(nid)


def table(app: DispatchApp, name: str) -> DataTable[str]:
    return app.screen.query_one(f"#{name}", DataTable)


def rows(app: DispatchApp, name: str) -> list[dict[str, str]]:
    """The table's rows as {column header: cell text}."""
    widget = table(app, name)
    labels = [str(c.label) for c in widget.columns.values()]
    return [
        dict(zip(labels, (str(c) for c in widget.get_row_at(i)), strict=True))
        for i in range(widget.row_count)
    ]


def all_shown_whole(app: DispatchApp, name: str) -> bool:
    """No cell is cut off: updated cells widen their column."""
    widget = table(app, name)
    return all(
        len(str(widget.get_row_at(i)[c])) <= column.content_width
        for i in range(widget.row_count)
        for c, column in enumerate(widget.columns.values())
    )


def notifications(app: DispatchApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def audited(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            (r.actor, r.action)
            for r in conn.execute(
                select(audit_log.c.actor, audit_log.c.action).order_by(audit_log.c.id)
            )
        ]


async def open_monitor(app: DispatchApp, pilot: object) -> None:
    await settle(app, pilot)  # type: ignore[arg-type]
    await pilot.press("f6")  # type: ignore[attr-defined]
    await settle(app, pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, MonitorScreen)


async def test_progress_and_failures_show(tui_engine: Engine) -> None:
    notice_id = with_failures(tui_engine)
    with tui_engine.begin() as conn:
        conn.execute(
            update(message)
            .where(message.c.id == 4)
            .values(
                status="retry_wait",
                attempts=2,
                last_error="503 busy",
                next_attempt_at=datetime.now(UTC) + timedelta(minutes=5),
            )
        )
        conn.execute(
            update(message)
            .where(message.c.id.between(5, 6))
            .values(status="sent", sent_at=datetime.now(UTC))
        )
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=SIZE) as pilot:
        await open_monitor(app, pilot)
        [shown] = rows(app, "notices")
        assert shown["outage"].endswith("test") and shown["notice"] == "5 days"
        assert (shown["rev"], shown["channels"]) == ("1", "sms")
        assert (shown["state"], shown["left"]) == ("sending", "5")
        [sms] = rows(app, "channels")
        assert sms["channel"] == "sms" and "50%" in sms["done"]
        assert (sms["left"], sms["failed"], sms["unknown"]) == ("5", "3", "0")
        assert sms["settled"] == "2 sent"
        assert sms["pace"] in ("retry in 4 min", "retry in 299 s")
        assert "10 messages" in str(app.screen.query_one("#channels-title", Static).render())
        problems = rows(app, "problems")
        assert [p["message"] for p in problems] == ["1", "2", "3", "4"]
        assert problems[0]["reason"] == "gateway said 400 bad number"
        assert problems[3]["state"] == "retrying" and problems[3]["tries"] == "2"
        assert rows(app, "processes") == []
        assert message_states(tui_engine, notice_id)["failed"] == 3


async def test_retry_pause_and_cancel_after_confirmation(tui_engine: Engine) -> None:
    notice_id = with_failures(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=SIZE) as pilot:
        await open_monitor(app, pilot)

        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "3 failed messages" in str(app.screen.query_one("#question").render())
        await pilot.press("escape")  # "no": nothing changes
        await settle(app, pilot)
        assert message_states(tui_engine, notice_id)["failed"] == 3
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.click("#yes")
        await settle(app, pilot)
        assert message_states(tui_engine, notice_id) == {"pending": 10}
        assert "3 failed messages queued again." in notifications(app)
        assert rows(app, "problems") == []

        await pilot.press("tab")  # to the channels table; `p` acts on its highlighted row
        await pilot.press("p")
        await settle(app, pilot)
        with tui_engine.connect() as conn:
            assert conn.execute(select(channel_control.c.paused)).scalar_one() is True
        assert rows(app, "channels")[0]["pace"] == "PAUSED"
        assert all_shown_whole(app, "channels")
        await pilot.press("p")
        await settle(app, pilot)
        with tui_engine.connect() as conn:
            assert conn.execute(select(channel_control.c.paused)).scalar_one() is False
        assert rows(app, "channels")[0]["pace"] == "none sent in 1 min"

        await pilot.press("c")
        await settle(app, pilot)
        await pilot.click("#yes")
        await settle(app, pilot)
        assert message_states(tui_engine, notice_id) == {"cancelled": 10}
        assert rows(app, "channels")[0]["settled"] == "10 cancelled"
        await pilot.press("c")  # nothing left to cancel: said, not asked
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("nothing was changed" in t for t in notifications(app))
    assert audited(tui_engine)[-4:] == [
        ("ana", "retry"),
        ("ana", "pause"),
        ("ana", "resume"),
        ("ana", "cancel_pending"),
    ]


async def test_a_viewer_is_refused_and_nothing_changes(tui_engine: Engine) -> None:
    notice_id = with_failures(tui_engine)
    before = audited(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=SIZE) as pilot:
        await open_monitor(app, pilot)
        for key in ("r", "c", "p"):
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, MonitorScreen), "a viewer is not asked to confirm"
        refusals = [t for t in notifications(app) if "viewer" in t]
        assert len(refusals) == 3, notifications(app)
    with tui_engine.connect() as conn:
        assert conn.execute(select(channel_control)).all() == []
    assert message_states(tui_engine, notice_id) == {"failed": 3, "pending": 7}
    assert audited(tui_engine) == before


async def test_keys_on_an_empty_monitor_say_so_and_change_nothing(tui_engine: Engine) -> None:
    before = audited(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=SIZE) as pilot:
        await open_monitor(app, pilot)
        assert rows(app, "notices") == rows(app, "channels") == []
        await pilot.press("r", "p", "c")
        await settle(app, pilot)
        assert isinstance(app.screen, MonitorScreen)
        texts = notifications(app)
        assert texts.count("No notice is highlighted; nothing was changed.") == 2
        assert "No channel is highlighted; nothing was changed." in texts
    assert audited(tui_engine) == before
    with tui_engine.connect() as conn:
        assert conn.execute(select(channel_control)).all() == []


async def test_every_second_it_follows_the_database_and_keeps_the_cursor(
    tui_engine: Engine,
) -> None:
    first = with_failures(tui_engine)
    second = another_notice(tui_engine, first, "day_before", timedelta(hours=1))
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=SIZE) as pilot:
        await open_monitor(app, pilot)
        notices = table(app, "notices")
        assert [r.key.value for r in notices.ordered_rows] == [str(second), str(first)]
        await pilot.press("down")
        await settle(app, pilot)
        assert [p["message"] for p in rows(app, "problems")] == ["1", "2", "3"]

        with tui_engine.begin() as conn:  # another process sends
            conn.execute(
                update(message)
                .where(message.c.notice_id == first, message.c.status == "pending")
                .values(status="sent", sent_at=datetime.now(UTC))
            )
        await pilot.pause(1.3)
        await settle(app, pilot)
        assert rows(app, "notices")[1]["left"] == "0"
        assert rows(app, "channels")[0]["settled"] == "7 sent"
        assert notices.cursor_row == 1

        # A new notice comes in above: the cursor stays on its notice.
        third = another_notice(tui_engine, first, "day_of", timedelta(hours=2))
        await pilot.pause(1.3)
        await settle(app, pilot)
        assert [r.key.value for r in notices.ordered_rows] == [str(third), str(second), str(first)]
        assert notices.cursor_row == 2

        with tui_engine.begin() as conn:  # the second finishes long ago and drops off
            conn.execute(update(message).where(message.c.notice_id == second).values(status="sent"))
            conn.execute(
                update(notice)
                .where(notice.c.id == second)
                .values(due_at=datetime.now(UTC) - timedelta(days=5))
            )
        await pilot.pause(1.3)
        await settle(app, pilot)
        assert [r.key.value for r in notices.ordered_rows] == [str(third), str(first)]
        assert notices.cursor_row == 1
        assert app.screen.highlighted_notice().notice_id == first  # type: ignore[attr-defined]
        assert [p["message"] for p in rows(app, "problems")] == ["1", "2", "3"]


async def test_it_reads_nothing_while_another_mode_is_in_front(tui_engine: Engine) -> None:
    with_failures(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=SIZE) as pilot:
        await open_monitor(app, pilot)
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        await pilot.press("f2")
        await settle(app, pilot)
        reads: list[int] = []
        original = screen._fetch

        def counting(notice_id: int | None) -> object:
            reads.append(1)
            return original(notice_id)

        screen._fetch = counting  # type: ignore[method-assign]
        await pilot.pause(2.2)
        assert reads == []
        await pilot.press("f6")
        await settle(app, pilot)
        await pilot.pause(1.2)
        assert len(reads) >= 2  # at once, then every second


async def test_the_embedded_engine_sends_and_says_so(tui_engine: Engine) -> None:
    notice_id = make_outbox(tui_engine, 5)
    app = make_app(tui_engine, "ana", embedded=True)
    async with app.run_test(size=SIZE) as pilot:
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
        await pilot.press("f6")
        await settle(app, pilot)
        [process] = rows(app, "processes")
        assert process["kind"] == "app" and process[""] == "alive"
    with tui_engine.connect() as conn:
        stopped = conn.execute(select(engine_process.c.stopped_at)).scalars().all()
    assert len(stopped) == 1 and stopped[0] is not None
