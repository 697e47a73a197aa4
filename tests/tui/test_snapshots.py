"""Screen snapshots at 100×30 on the small fixed database, and at 80×24 with
NO_COLOR (on-call over SSH) for the screens made to fit it.

The database lives at a fixed path so the header (which names it) is the
same on every run; a lock file keeps two test runs on one machine (two
checkouts) from replacing it under each other.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Label

from dispatch_tui.dialogs.amend import AmendDialog
from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.dialogs.reason import ReasonDialog
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens.priority import PriorityScreen
from dispatch_tui.storage import outage_lifecycle
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import channel_control, message, node, notice, outage, utility
from dispatch_tui.widgets.network_tree import NetworkTree
from tests.engine.factory import make_outbox
from tests.tui.conftest import fill_form, make_app
from tests.tui.test_app import settle

FIXED = Path("/tmp/dispatch-tui-snapshots/tui.sqlite")
SIZE = (100, 30)
NARROW = (80, 24)


@pytest.fixture
def no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR for the app made next (Textual reads it when the app is made)."""
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="module")
def fixed_path_lock() -> Iterator[None]:
    """Hold the fixed path for this module's tests against other runs."""
    FIXED.parent.mkdir(parents=True, exist_ok=True)
    with open(FIXED.parent / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture
def fixed_engine(tui_template: Path, fixed_path_lock: None) -> Iterator[Engine]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{FIXED}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(tui_template, FIXED)
    engine = create_db_engine(f"sqlite:///{FIXED}")
    yield engine
    engine.dispose()


async def _expand_and_select(pilot: Pilot[None]) -> None:
    app = pilot.app
    await settle(app, pilot)  # type: ignore[arg-type]
    tree = app.screen.query_one(NetworkTree)
    node = tree.root.children[0]
    for _ in range(4):
        tree.move_cursor(node)
        await pilot.press("enter")
        await settle(app, pilot)  # type: ignore[arg-type]
        node = node.children[0]
    tree.move_cursor(tree.root.children[0].children[0])
    await pilot.press("space")
    await settle(app, pilot)  # type: ignore[arg-type]


async def _form_with_errors(pilot: Pilot[None]) -> None:
    await _expand_and_select(pilot)
    await pilot.press("d")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    fill_form(pilot.app.screen, reason="", start="2031-03-30 02:30", end="soon")
    await pilot.press("ctrl+s")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]


async def _settled(pilot: Pilot[None]) -> None:
    await settle(pilot.app, pilot)  # type: ignore[arg-type]


async def _help(pilot: Pilot[None]) -> None:
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.press("f1")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]


async def _preview(pilot: Pilot[None]) -> None:
    """Start in 2031: the schedule is the plain 5-day/1-day/day-of plan, whatever today is."""
    await _expand_and_select(pilot)
    await pilot.press("d")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    fill_form(pilot.app.screen)
    await pilot.press("f6")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]


async def _search(pilot: Pilot[None]) -> None:
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.press("slash")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.press(*"kranj")
    # The dialog searches after a pause in typing: wait for its answer, however slow.
    status = pilot.app.screen.query_one("#status", Label)
    for _ in range(100):
        await settle(pilot.app, pilot)  # type: ignore[arg-type]
        if "found" in str(status.render()):
            break
        await pilot.pause(0.05)


async def _priority(pilot: Pilot[None]) -> None:
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.app.push_screen(PriorityScreen(1, "Zamenjava TP"))
    await settle(pilot.app, pilot)  # type: ignore[arg-type]


SCREENS: dict[str, tuple[str, Callable[[Pilot[None]], Awaitable[None]]]] = {
    "network_screen": ("ana", _expand_and_select),
    "outage_form_with_errors": ("ana", _form_with_errors),
    "unknown_user_screen": ("stranger", _settled),
    "help_screen": ("ana", _help),
    "preview_screen": ("ana", _preview),
    "search_dialog": ("ana", _search),
    "priority_screen": ("bohdan", _priority),
}
"""Screens and dialogs drawn both ways: 80x24 with NO_COLOR (on-call over SSH) and
100x30 in colour (at a desk)."""


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("size", ["80x24", "100x30"])
def test_screen(
    snap_compare: Any,
    fixed_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    screen: str,
    size: str,
) -> None:
    if screen == "priority_screen":
        priority_outage(fixed_engine)
    if size == "80x24":
        monkeypatch.setenv("NO_COLOR", "1")
    login, run_before = SCREENS[screen]
    terminal = NARROW if size == "80x24" else SIZE
    assert snap_compare(
        make_app(fixed_engine, login), terminal_size=terminal, run_before=run_before
    )


def priority_outage(engine: Engine) -> None:
    """Outage #1 over region EG-R1 (its priority point 6-100003), drafted by ana."""
    with engine.connect() as conn:
        eg = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
        region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
    start = datetime(2031, 4, 1, 6, 0, tzinfo=UTC)
    draft = OutageDraft(
        utility_id=eg,
        title="Zamenjava TP",
        reason="vzdrževalna dela",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        selection=Selection(nodes=frozenset({region})),
    )
    assert outage_lifecycle.create_draft(engine, draft, actor="ana") == 1


def monitor_data(engine: Engine) -> None:
    """A notice of 2025 whose last messages wait because sms is paused; nothing
    sent in the last minute, backing off or registered as a process, so no
    figure on screen depends on the clock."""
    notice_id = make_outbox(engine, 12)
    starts = datetime(2025, 4, 1, 6, 0, tzinfo=UTC)
    sent = datetime(2025, 3, 27, 7, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            update(outage).values(
                title="Zamenjava TP Kranj", starts_at=starts, ends_at=starts + timedelta(hours=4)
            )
        )
        conn.execute(
            update(notice)
            .where(notice.c.id == notice_id)
            .values(due_at=datetime(2025, 3, 27, 7, 0, tzinfo=UTC))
        )
        conn.execute(update(message).values(expires_at=starts, next_attempt_at=sent))
        conn.execute(
            update(message).where(message.c.id <= 5).values(status="delivered", sent_at=sent)
        )
        conn.execute(
            update(message).where(message.c.id.between(6, 7)).values(status="sent", sent_at=sent)
        )
        conn.execute(
            update(message)
            .where(message.c.id.between(8, 9))
            .values(status="failed", attempts=1, last_error="gateway said 400 bad number")
        )
        conn.execute(
            insert(channel_control).values(
                channel="sms", paused=True, changed_by="bohdan", changed_at=sent
            )
        )


def sibling_notice(engine: Engine, first: int, channel: str, revision: int) -> None:
    """Another notice of `first`'s outage, due a day later, to the same contacts over
    `channel`: its first two messages sent, the rest pending."""
    with engine.begin() as conn:
        row = conn.execute(select(notice).where(notice.c.id == first)).mappings().one()
        nid = conn.execute(
            insert(notice).returning(notice.c.id),
            {
                **{k: v for k, v in row.items() if k != "id"},
                "channels": [channel],
                "due_at": row["due_at"] + timedelta(days=1),
                "outage_revision": revision,
            },
        ).scalar_one()
        messages = conn.execute(
            select(message).where(message.c.notice_id == first).order_by(message.c.id)
        ).mappings()
        conn.execute(
            insert(message),
            [
                {
                    **{k: v for k, v in m.items() if k not in ("id", "notice_id")},
                    "notice_id": nid,
                    "channel": channel,
                    "status": "sent" if i < 2 else "pending",
                    "last_error": None,
                    "attempts": 0,
                }
                for i, m in enumerate(messages)
            ],
        )


async def _open_monitor(pilot: Pilot[None]) -> None:
    await settle(pilot.app, pilot)  # type: ignore[arg-type]
    await pilot.press("f6")
    await settle(pilot.app, pilot)  # type: ignore[arg-type]


def test_monitor_screen(snap_compare: Any, fixed_engine: Engine) -> None:
    monitor_data(fixed_engine)
    assert snap_compare(make_app(fixed_engine, "ana"), terminal_size=SIZE, run_before=_open_monitor)


def test_monitor_screen_at_80x24(snap_compare: Any, fixed_engine: Engine, no_color: None) -> None:
    """Three notices of one outage (sms, its e-mail group, the amended revision): three
    rows that differ, every column whole, the channels of the highlighted one below."""
    monitor_data(fixed_engine)
    with fixed_engine.connect() as conn:
        first = conn.execute(select(notice.c.id)).scalar_one()
    sibling_notice(fixed_engine, first, "email", 1)
    sibling_notice(fixed_engine, first, "sms", 2)
    assert snap_compare(
        make_app(fixed_engine, "ana"), terminal_size=NARROW, run_before=_open_monitor
    )


LONG_TITLE = "Zamenjava transformatorja in obnova nizkonapetostnega omrežja TP Kranj-Zlato polje 3"
DIALOGS: dict[str, Callable[[], ModalScreen[Any]]] = {
    "reject": lambda: ReasonDialog(
        f"Why send outage #12 “{LONG_TITLE}” back to ana?", action="Reject"
    ),
    "cancel-outage": lambda: ReasonDialog(
        f"Cancel outage #12 “{LONG_TITLE}”\n(1.4.2031 08:00–12:00)?\n\n"
        "Notices already went out: customers already told will get a cancellation notice.\n"
        "A cancelled outage cannot be brought back.\n\nWhy is it cancelled?",
        action="Cancel outage",
    ),
    "amend": lambda: AmendDialog(
        LONG_TITLE,
        datetime(2031, 4, 1, 6, 0, tzinfo=UTC),
        datetime(2031, 4, 1, 10, 0, tzinfo=UTC),
        "Europe/Ljubljana",
        now=datetime(2031, 3, 1, tzinfo=UTC),
    ),
    "retry": lambda: ConfirmDialog(
        "Send the 1,234 failed messages of this day_before notice again?\n"
        "Expired ones and those to contacts who opted out since stay failed.",
        yes="Retry failed",
        no="Leave them",
    ),
    "cancel-pending": lambda: ConfirmDialog(
        "Cancel the 12,345 messages of this day_before notice that have not gone out?\n"
        "The 17 whose outcome is unknown will not be sent again.\n"
        "Messages already with the gateway are not recalled.",
        yes="Cancel them",
        no="Keep sending",
    ),
}


@pytest.mark.parametrize("dialog", list(DIALOGS))
@pytest.mark.parametrize("size", ["80x24", "100x30"])
def test_dialog(
    snap_compare: Any,
    fixed_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    dialog: str,
    size: str,
) -> None:
    """Every word of the question is on screen at 80 columns: wrapped, never cut."""
    if size == "80x24":
        monkeypatch.setenv("NO_COLOR", "1")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot.app, pilot)  # type: ignore[arg-type]
        pilot.app.push_screen(DIALOGS[dialog]())
        await settle(pilot.app, pilot)  # type: ignore[arg-type]

    terminal = NARROW if size == "80x24" else SIZE
    assert snap_compare(
        make_app(fixed_engine, "ana"), terminal_size=terminal, run_before=run_before
    )
