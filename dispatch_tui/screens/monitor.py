"""Delivery monitor: progress per notice and channel, problems, the levers
(retry failed, pause a channel, cancel what is pending) and who is sending.

Made for 80×24: one row per notice that tells it apart from its siblings
(revision and channels: one transition makes a notice per channel group),
the highlighted notice's channels below in a table as tall as there are
channels (so nothing jumps as they fill in), every column whole at 80
columns, and the send rate of the last half hour as a sparkline.

Everything on screen comes from one thread worker every second (never two
at once, so a slow database never piles refreshes up), and only while the
screen is in front; tables are updated in place and keep their cursor, so
the screen stays usable while 100,000 messages go.

Progress is a text bar, not Textual's `ProgressBar`: that one tells done
from not done only by colour, which `NO_COLOR` (on-call over SSH) removes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Sparkline, Static

from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.domain.roles import Action
from dispatch_tui.domain.timeparse import format_local
from dispatch_tui.storage import monitor, processes
from dispatch_tui.storage.models import CHANNELS
from dispatch_tui.storage.monitor import (
    RATE_MINUTES,
    CampaignProgress,
    ChannelProgress,
    MonitorError,
    NoticeProgress,
    ProblemRow,
    send_rate,
)
from dispatch_tui.storage.processes import ProcessRow
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.formatting import clip
from dispatch_tui.widgets.table_rows import fill_rows
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

if TYPE_CHECKING:
    from sqlalchemy import Engine


REFRESH_SECONDS = 1.0
BAR_WIDTH = 8
TITLE_WIDTH = 18
PROCESS_WIDTH = 22
SETTLED_STATES = ("delivered", "sent", "expired", "cancelled")
"""Outcomes that need nothing more, in one cell after the columns that may need action."""
KIND_NAMES = {
    "advance": "5 days",
    "day_before": "day before",
    "day_of": "on the day",
    "immediate": "at once",
    "amendment": "amendment",
    "cancellation": "cancelled",
}
CHANNEL_NAMES = {"sms": "sms", "email": "mail", "telegram": "tg", "viber": "vb"}


def bar(done: int, total: int) -> str:
    """A text progress bar: it reads the same in every terminal and in NO_COLOR."""
    if not total:
        return "·" * BAR_WIDTH + "    –"
    filled = round(BAR_WIDTH * done / total)
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {100 * done // total:3d}%"


def seconds_text(seconds: float | None) -> str:
    """A duration as people read it at a glance; "–" when there is none."""
    if seconds is None:
        return "–"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def rate_text(per_second: float) -> str:
    """Messages a second; a trickle is not shown as a standstill."""
    return "<0.1" if 0 < per_second < 0.05 else f"{per_second:.1f}"


def state_cell(channel: ChannelProgress, state: str) -> str:
    """A state's count; unknown ones that will not be sent again are said so
    (only a late delivery report can settle them)."""
    count = f"{channel.counts.get(state, 0):,}"
    if state == "unknown" and channel.unknown_not_resent:
        return f"{count} ({channel.unknown_not_resent:,} no resend)"
    return count


def unknown_cell(notice: NoticeProgress) -> str:
    """A notice's messages whose outcome is unknown (the channels below say how many
    of them will not be resent); empty when there are none."""
    return f"{notice.unknown:,}" if notice.unknown else ""


def pace(channel: ChannelProgress, now: datetime) -> str:
    """What holds a channel back (an operator's pause, backoff after errors), or
    else how fast it goes and when it is done."""
    parts = ["NO SENDER configured"] if channel.no_sender and channel.left else []
    if channel.paused:
        parts.append("PAUSED")
    if channel.next_retry_at is not None:
        wait = (channel.next_retry_at - now).total_seconds()
        parts.append(f"retry in {seconds_text(wait)}")
    if parts or not channel.left:
        return ", ".join(parts)
    if not channel.sent_last_minute:
        return "none sent in 1 min"
    return f"{rate_text(channel.per_second)}/s, {seconds_text(channel.eta_seconds)}"


def settled(channel: ChannelProgress) -> str:
    """The outcomes that need nothing more, only those there are."""
    counts = ((channel.counts.get(state, 0), state) for state in SETTLED_STATES)
    return ", ".join(f"{count:,} {state}" for count, state in counts if count)


def channels_text(channels: list[str]) -> str:
    """A notice's channel group in few letters: two groups of one outage differ here."""
    return "+".join(CHANNEL_NAMES.get(c, c) for c in channels)


def process_name(process_id: str) -> str:
    """`engine@host:pid:tail` fitted to its column: the kind and pid have columns."""
    return clip(process_id.split(":")[0], PROCESS_WIDTH)


def channel_states_text(states: dict[str, str]) -> str:
    """`sending sms · PAUSED tg · idle mail, vb`: each state once, its channels after it."""
    parts = []
    for state in monitor.CHANNEL_STATES:
        channels = [CHANNEL_NAMES.get(c, c) for c, s in states.items() if s == state]
        if channels:
            parts.append(f"{state.upper() if state == 'paused' else state} {', '.join(channels)}")
    return " · ".join(parts)


def notice_state(notice: NoticeProgress) -> str:
    """A notice whose fan-out is done is still sending while messages are left
    (or paused, when every channel with messages left is); what is left only on
    channels no process has a sender for waits for one, and is not in flight."""
    if notice.outage_status == "cancelled" and notice.kind != "cancellation":
        return "outage cancelled"
    waiting = [c for c in notice.channels if c.in_flight]
    if notice.status == "done" and waiting:
        return "paused" if all(c.paused for c in waiting) else "sending"
    if notice.status == "done" and any(c.left for c in notice.channels):
        return "waits for sender"
    return notice.status


@dataclass(frozen=True)
class Outcome:
    """What to tell the operator after a lever: `done` with "{}" for the count,
    `nothing` when no message was in a state to change."""

    done: str
    nothing: str = ""


@dataclass(frozen=True)
class Snapshot:
    """One refresh: everything on screen, read at `now`."""

    now: datetime
    notices: list[NoticeProgress]
    problems: list[ProblemRow]
    processes: list[ProcessRow]
    channel_states: dict[str, str]
    campaigns: list[CampaignProgress] = field(default_factory=list)


class MonitorScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    """Watch and steer delivery; any role may watch, the levers are role-checked."""

    BINDING_GROUP_TITLE = "Monitor"
    CSS_PATH = "monitor.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry failed", id="monitor.retry"),
        Binding("p", "pause", "Pause/resume channel", id="monitor.pause"),
        Binding("c", "cancel_pending", "Cancel pending", id="monitor.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: Snapshot | None = None
        self._fetching = False
        self._again = False
        self._timer: Timer | None = None

    @property
    def engine(self) -> Engine:
        return self.dispatch.engine

    @property
    def actor(self) -> str:
        return self.dispatch.identity.login

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="title"):
            yield Static("Notices", id="notices-title")
            yield Static(f"sent/min, last {RATE_MINUTES} min", id="rate-label")
            yield Sparkline([0] * RATE_MINUTES, id="rate")
        yield DataTable(id="notices", cursor_type="row", zebra_stripes=True)
        yield Static("Channels of the highlighted notice", id="channels-title", classes="title")
        yield DataTable(id="channels", cursor_type="row")
        yield Static("Failed, retrying and unknown", classes="title")
        yield DataTable(id="problems", cursor_type="row", zebra_stripes=True)
        yield Static("Sending processes", id="processes-title", classes="title")
        yield DataTable(id="processes", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._columns(
            "notices", "outage", "rev", "notice", "channels", "due", "state", "left", "unkn"
        )
        self._columns("channels", "channel", "done", "left", "failed", "unknown", "pace", "settled")
        # One row per channel there can be: the table never grows as channels fill in.
        self.query_one("#channels", DataTable).styles.height = 1 + len(CHANNELS)
        self._columns(
            "problems", "message", "channel", "address", "state", "tries", "next", "reason"
        )
        self._columns("processes", "process", "kind", "pid", "beat", "holds", "")
        self.query_one("#notices", DataTable).focus()
        self._timer = self.set_interval(REFRESH_SECONDS, self.reload, pause=True)

    def on_screen_resume(self) -> None:
        """In front again (mode switch, dialog closed): show now, then every second."""
        if self._timer is not None:
            self._timer.resume()
        self.reload()

    def on_screen_suspend(self) -> None:
        """Behind another screen or mode: no database work for nobody to see."""
        if self._timer is not None:
            self._timer.pause()

    def _columns(self, table: str, *labels: str) -> None:
        self.query_one(f"#{table}", DataTable).add_columns(*labels)

    # -- data -----------------------------------------------------------------

    def highlighted_notice(self) -> NoticeProgress | None:
        """The notice under the cursor, as of the last refresh."""
        table = self.query_one("#notices", DataTable)
        if self.snapshot is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((n for n in self.snapshot.notices if str(n.notice_id) == key), None)

    def highlighted_channel(self) -> ChannelProgress | None:
        """The channel under the channels table's cursor (the first one until moved)."""
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

    @work(thread=True, exit_on_error=False, group="monitor-refresh", description="Reading progress")
    def _fetch(self, notice_id: int | None) -> None:
        """Everything on screen in one go, read at one moment."""
        now = datetime.now(UTC)
        try:
            with self.engine.connect() as conn:
                notices = monitor.progress(conn, now=now)
                if notice_id is None and notices:
                    notice_id = notices[0].notice_id
                problems = (
                    monitor.problems(conn, notice_id, now=now) if notice_id is not None else []
                )
                procs = processes.list_processes(conn, now=now)
                states = monitor.channel_states(conn)
                running = monitor.campaign_progress(conn, now=now)
        except Exception:
            self.app.call_from_thread(setattr, self, "_fetching", False)
            raise  # shown by ReportsWorkerErrors; the next tick tries again
        self.app.call_from_thread(
            self._show, Snapshot(now, notices, problems, procs, states, running)
        )

    def _show(self, snapshot: Snapshot) -> None:
        self._fetching = False
        if self._again:
            self.call_after_refresh(self.reload)
        self.snapshot = snapshot
        self.query_one("#rate", Sparkline).data = send_rate(snapshot.notices)
        fill_rows(
            self.query_one("#notices", DataTable),
            [
                (
                    str(n.notice_id),
                    (
                        clip(f"#{n.outage_id} {n.outage_title}", TITLE_WIDTH),
                        str(n.outage_revision),
                        KIND_NAMES.get(n.kind, n.kind),
                        channels_text([c.channel for c in n.channels]),
                        format_local(n.due_at, n.timezone)[5:],
                        notice_state(n),
                        f"{sum(c.in_flight for c in n.channels):,}",
                        unknown_cell(n),
                    ),
                )
                for n in snapshot.notices
            ]
            + [
                (
                    f"campaign-{c.campaign_id}",
                    (
                        clip(f"campaign #{c.campaign_id} {c.title}", TITLE_WIDTH),
                        "",
                        "campaign",
                        channels_text([ch.channel for ch in c.channels]),
                        format_local(c.due_at, c.timezone)[5:],
                        c.status,
                        f"{c.left:,}",
                        f"{c.unknown:,}" if c.unknown else "",
                    ),
                )
                for c in snapshot.campaigns
            ],
        )
        notice = self.highlighted_notice()
        channels = notice.channels if notice else []
        self.query_one("#channels-title", Static).update(
            f"Channels of #{notice.outage_id} rev {notice.outage_revision}, "
            f"{KIND_NAMES.get(notice.kind, notice.kind)}: "
            f"{sum(c.total for c in notice.channels):,} messages"
            if notice
            else "Channels of the highlighted notice"
        )
        fill_rows(
            self.query_one("#channels", DataTable),
            [
                (
                    c.channel,
                    (
                        c.channel,
                        bar(c.total - c.left, c.total),
                        f"{c.left:,}",
                        state_cell(c, "failed"),
                        state_cell(c, "unknown"),
                        pace(c, snapshot.now),
                        settled(c),
                    ),
                )
                for c in channels
            ],
        )
        fill_rows(
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
        alive = sum(p.alive for p in snapshot.processes)
        self.query_one("#processes-title", Static).update(
            f"Processes: {alive} alive, {len(snapshot.processes) - alive} gone · "
            + channel_states_text(snapshot.channel_states)
        )
        fill_rows(
            self.query_one("#processes", DataTable),
            [
                (
                    p.id,
                    (
                        process_name(p.id),
                        p.kind,
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
        """Another notice: its failures are read at once, not at the next tick."""
        if event.data_table.id == "notices" and self.snapshot is not None:
            self.reload()

    # -- levers ---------------------------------------------------------------

    def _need_notice(self) -> NoticeProgress | None:
        """The highlighted notice, or a message saying there is none."""
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
        question = (
            f"Send the {failed:,} failed messages of this {notice.kind} notice again?\n"
            "Expired ones and those to contacts who opted out since stay failed."
        )
        self._ask(
            Action.RETRY,
            ConfirmDialog(question, yes="Retry failed", no="Leave them"),
            partial(monitor.retry_failed, self.engine, notice.notice_id, actor=self.actor),
            Outcome(
                "{} failed messages queued again.",
                "None of them can be sent again (expired, opted out, or the outage changed); "
                "nothing was changed.",
            ),
        )

    def action_cancel_pending(self) -> None:
        notice = self._need_notice()
        if notice is None:
            return
        left = sum(
            c.counts.get("pending", 0) + c.counts.get("retry_wait", 0) for c in notice.channels
        )
        resends = sum(c.counts.get("unknown", 0) - c.unknown_not_resent for c in notice.channels)
        if not left and not resends:
            self.notify("Nothing of this notice is waiting to be sent; nothing was changed.")
            return
        unknown = f"The {resends:,} whose outcome is unknown will not be sent again.\n"
        question = (
            f"Cancel the {left:,} messages of this {notice.kind} notice that have not gone out?\n"
            f"{unknown if resends else ''}"
            "Messages already with the gateway are not recalled."
        )
        self._ask(
            Action.CANCEL,
            ConfirmDialog(question, yes="Cancel them", no="Keep sending"),
            partial(monitor.cancel_pending, self.engine, notice.notice_id, actor=self.actor),
            Outcome(
                "{} messages stopped: pending ones cancelled, unknown ones not sent again.",
                "They went out meanwhile; nothing was changed.",
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
            Outcome(f"{channel.channel} {'paused' if paused else 'resumed'} for every sender."),
        )

    def _ask(
        self, action: Action, dialog: ConfirmDialog, change: Callable[[], object], said: Outcome
    ) -> None:
        """Confirm first; but someone who may not do it is not asked to confirm:
        storage refuses at once, in its own words."""
        if not self.dispatch.identity.may(action):
            self._change(change, said)
            return
        self.app.push_screen(dialog, partial(self._confirmed, change, said))

    def _confirmed(self, change: Callable[[], object], said: Outcome, yes: bool | None) -> None:
        if yes:
            self._change(change, said)

    @work(thread=True, exit_on_error=False, group="monitor-change", description="Changing delivery")
    def _change(self, change: Callable[[], object], said: Outcome) -> None:
        """Run one lever in storage; a refusal is shown as it is, nothing else changes."""
        try:
            result = change()
        except MonitorError as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title="Refused", severity="error", timeout=8
            )
            return
        if result == 0:
            self.app.call_from_thread(self.notify, said.nothing, severity="warning")
        else:
            count = f"{result:,}" if isinstance(result, int) else ""
            self.app.call_from_thread(self.notify, said.done.format(count), title="Done")
        self.app.call_from_thread(self.reload)
