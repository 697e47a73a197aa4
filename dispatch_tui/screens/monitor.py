"""Delivery monitor: progress per notice and channel, problems, the levers
(retry failed, pause a channel, cancel what is pending) and who is sending.

Everything on screen comes from one thread worker every second (exclusive,
so a slow database never piles refreshes up); tables are updated in place
and keep their cursor, so the screen stays usable while 100,000 messages go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.domain.timeparse import format_local
from dispatch_tui.storage import monitor, processes
from dispatch_tui.storage.monitor import ChannelProgress, MonitorError, NoticeProgress, ProblemRow
from dispatch_tui.storage.processes import ProcessRow
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dispatch_tui.app import DispatchApp

REFRESH_SECONDS = 1.0
BAR_WIDTH = 20
SHOWN_STATES = (
    ("pending", "pending"),
    ("sending", "sending"),
    ("retry_wait", "retrying"),
    ("sent", "sent"),
    ("delivered", "delivered"),
    ("failed", "failed"),
    ("expired", "expired"),
    ("unknown", "unknown"),
    ("cancelled", "cancelled"),
)


def bar(done: int, total: int) -> str:
    """A text progress bar: it renders the same in every terminal and in NO_COLOR."""
    if not total:
        return "·" * BAR_WIDTH + "   –"
    filled = round(BAR_WIDTH * done / total)
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {100 * done // total:3d}%"


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def channel_state(channel: ChannelProgress, now: datetime) -> str:
    parts = ["PAUSED"] if channel.paused else []
    if channel.next_retry_at is not None:
        wait = (channel.next_retry_at - now).total_seconds()
        parts.append(f"next retry in {seconds_text(wait)}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    notices: list[NoticeProgress]
    problems: list[ProblemRow]
    processes: list[ProcessRow]


class MonitorScreen(ReportsWorkerErrors, Screen[None]):
    """Watch and steer delivery; any role may watch, the levers are role-checked."""

    BINDING_GROUP_TITLE = "Monitor"
    DEFAULT_CSS = """
    MonitorScreen #notices { height: 1fr; }
    MonitorScreen #channels { height: auto; max-height: 7; }
    MonitorScreen #problems { height: 1fr; }
    MonitorScreen #processes { height: auto; max-height: 6; }
    MonitorScreen .title { background: $boost; text-style: bold; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry failed", id="monitor.retry"),
        Binding("p", "pause", "Pause/resume channel", id="monitor.pause"),
        Binding("c", "cancel_pending", "Cancel pending", id="monitor.cancel"),
        Binding("tab", "app.focus_next", "Next table", show=False, id="monitor.next"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: Snapshot | None = None
        self._fetching = False
        self._again = False

    @property
    def engine(self) -> Engine:
        return cast("DispatchApp", self.app).engine

    @property
    def actor(self) -> str:
        return cast("DispatchApp", self.app).identity.login

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Notices", classes="title")
        yield DataTable(id="notices", cursor_type="row", zebra_stripes=True)
        yield Static("Channels of the highlighted notice", classes="title")
        yield DataTable(id="channels", cursor_type="row")
        yield Static("Failed, retrying and unknown", classes="title")
        yield DataTable(id="problems", cursor_type="row", zebra_stripes=True)
        yield Static("Sending processes", classes="title")
        yield DataTable(id="processes", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self._columns("notices", "outage", "notice", "due", "state", "messages", "left")
        states = (label for _, label in SHOWN_STATES)
        self._columns("channels", "channel", "progress", *states, "msg/s", "finish in", "state")
        self._columns(
            "problems", "message", "channel", "address", "state", "tries", "next", "reason"
        )
        self._columns("processes", "process", "kind", "host", "pid", "beat", "holds", "")
        self.query_one("#notices", DataTable).focus()
        self.set_interval(REFRESH_SECONDS, self.reload)
        self.reload()

    def _columns(self, table: str, *labels: str) -> None:
        self.query_one(f"#{table}", DataTable).add_columns(*labels)

    # -- data -----------------------------------------------------------------

    def highlighted_notice(self) -> NoticeProgress | None:
        table = self.query_one("#notices", DataTable)
        if self.snapshot is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((n for n in self.snapshot.notices if str(n.notice_id) == key), None)

    def highlighted_channel(self) -> ChannelProgress | None:
        notice = self.highlighted_notice()
        table = self.query_one("#channels", DataTable)
        if notice is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((c for c in notice.channels if c.channel == key), None)

    def reload(self) -> None:
        """Fetch now, or right after the fetch under way: never two at once, and
        never cancelling one (a slow database must not starve the screen)."""
        if self._fetching:
            self._again = True
            return
        self._fetching, self._again = True, False
        notice = self.highlighted_notice()
        self._fetch(notice.notice_id if notice else None)

    @work(thread=True, exit_on_error=False, group="monitor-refresh")
    def _fetch(self, notice_id: int | None) -> None:
        now = datetime.now(UTC)
        try:
            with self.engine.connect() as conn:
                notices = monitor.progress(conn, now=now)
                if notice_id is None and notices:
                    notice_id = notices[0].notice_id
                problems = monitor.problems(conn, notice_id) if notice_id is not None else []
                procs = processes.list_processes(conn, now=now)
        except Exception:
            self.app.call_from_thread(setattr, self, "_fetching", False)
            raise  # shown by ReportsWorkerErrors; the next tick tries again
        self.app.call_from_thread(self._show, Snapshot(now, notices, problems, procs))

    def _show(self, snapshot: Snapshot) -> None:
        self._fetching = False
        if self._again:
            self.call_after_refresh(self.reload)
        self.snapshot = snapshot
        fill(
            self.query_one("#notices", DataTable),
            [
                (
                    str(n.notice_id),
                    (
                        f"#{n.outage_id} {n.outage_title}",
                        n.kind,
                        format_local(n.due_at, n.timezone),
                        n.status if n.outage_status != "cancelled" else "outage cancelled",
                        f"{sum(c.total for c in n.channels):,}",
                        f"{sum(c.left for c in n.channels):,}",
                    ),
                )
                for n in snapshot.notices
            ],
        )
        notice = self.highlighted_notice()
        channels = notice.channels if notice else []
        fill(
            self.query_one("#channels", DataTable),
            [
                (
                    c.channel,
                    (
                        c.channel,
                        bar(c.total - c.left, c.total),
                        *(f"{c.counts.get(state, 0):,}" for state, _ in SHOWN_STATES),
                        f"{c.per_second:.1f}",
                        seconds_text(c.eta_seconds),
                        channel_state(c, snapshot.now),
                    ),
                )
                for c in channels
            ],
        )
        fill(
            self.query_one("#problems", DataTable),
            [
                (
                    str(p.message_id),
                    (
                        str(p.message_id),
                        p.channel,
                        p.address,
                        "retrying" if p.status == "retry_wait" else p.status,
                        str(p.attempts),
                        seconds_text((p.next_attempt_at - snapshot.now).total_seconds())
                        if p.next_attempt_at
                        else "",
                        p.reason,
                    ),
                )
                for p in snapshot.problems
            ],
        )
        fill(
            self.query_one("#processes", DataTable),
            [
                (
                    p.id,
                    (
                        p.id,
                        p.kind,
                        p.host,
                        str(p.pid),
                        f"{seconds_text((snapshot.now - p.heartbeat_at).total_seconds())} ago",
                        f"{p.messages_held:,} msg, {p.notices_held} notices",
                        "alive" if p.alive else "stopped" if p.stopped_at else "GONE",
                    ),
                )
                for p in snapshot.processes
            ],
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "notices" and self.snapshot is not None:
            self.reload()

    # -- levers ---------------------------------------------------------------

    def _need_notice(self) -> NoticeProgress | None:
        notice = self.highlighted_notice()
        if notice is None:
            self.notify("No notice is highlighted; nothing was changed.", severity="warning")
        return notice

    def action_retry(self) -> None:
        notice = self._need_notice()
        if notice is None:
            return
        failed = sum(c.counts.get("failed", 0) for c in notice.channels)
        if not failed:
            self.notify("This notice has no failed messages; nothing was changed.")
            return
        question = f"Send the {failed:,} failed messages of this {notice.kind} notice again?"
        self.app.push_screen(
            ConfirmDialog(question, yes="Retry failed", no="Leave them"),
            partial(
                self._confirmed,
                partial(monitor.retry_failed, self.engine, notice.notice_id, actor=self.actor),
                "{} failed messages queued again.",
            ),
        )

    def action_cancel_pending(self) -> None:
        notice = self._need_notice()
        if notice is None:
            return
        left = sum(
            c.counts.get("pending", 0) + c.counts.get("retry_wait", 0) for c in notice.channels
        )
        if not left:
            self.notify("Nothing of this notice is waiting to be sent; nothing was changed.")
            return
        question = (
            f"Cancel the {left:,} messages of this {notice.kind} notice that have not gone out?\n"
            "Messages already with the gateway are not recalled."
        )
        self.app.push_screen(
            ConfirmDialog(question, yes="Cancel them", no="Keep sending"),
            partial(
                self._confirmed,
                partial(monitor.cancel_pending, self.engine, notice.notice_id, actor=self.actor),
                "{} pending messages cancelled.",
            ),
        )

    def action_pause(self) -> None:
        channel = self.highlighted_channel()
        if channel is None:
            self.notify("No channel is highlighted; nothing was changed.", severity="warning")
            return
        paused = not channel.paused
        self._change(
            partial(monitor.set_paused, self.engine, channel.channel, paused, actor=self.actor),
            f"{channel.channel} {'paused' if paused else 'resumed'} for every sending process.",
        )

    def _confirmed(self, change: Callable[[], object], done: str, yes: bool | None) -> None:
        if yes:
            self._change(change, done)

    @work(thread=True, exit_on_error=False, group="monitor-change")
    def _change(self, change: Callable[[], object], done: str) -> None:
        try:
            result = change()
        except MonitorError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, done.format(f"{result:,}" if result else 0))
        self.app.call_from_thread(self.reload)


def fill(table: DataTable[str], rows: list[tuple[str, tuple[str, ...]]]) -> None:
    """Replace the rows in place, keeping the cursor on the same key."""
    current = (
        table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if table.row_count
        else None
    )
    wanted = [key for key, _ in rows]
    existing = [str(k.value) for k in table.rows]
    if existing == wanted:
        for key, cells in rows:
            for column, value in zip(table.columns, cells, strict=False):
                table.update_cell(key, column, value)
        return
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if current in wanted:
        table.move_cursor(row=wanted.index(current))
