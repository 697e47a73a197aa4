"""Every outage in one table: find it, open it, cancel, amend, withdraw, delete.

On-call staff come here at night to deal with an outage that moved, so the
list is filtered and sorted by the database a page at a time (it may hold
years of outages), each row shows its window in the utility's own local
time, and every action is a key. What a role may not do is hidden; what
does not fit the highlighted outage's status is shown disabled. Storage
checks roles and the lifecycle again and its refusal is shown as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Select, Static
from textual.worker import get_current_worker

from dispatch_tui.dialogs.amend import AmendDialog
from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.dialogs.reason import ReasonDialog
from dispatch_tui.domain.roles import Action
from dispatch_tui.screens.outage_detail import OutageDetailScreen, status_label
from dispatch_tui.screens.outage_form import OutageFormScreen
from dispatch_tui.screens.priority import PriorityScreen
from dispatch_tui.storage import outage_lifecycle, outages
from dispatch_tui.storage.changes import OUTAGES
from dispatch_tui.storage.outages import OutageDetail, OutageError, OutageRow
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.formatting import clip, format_window
from dispatch_tui.widgets.table_rows import fill_rows
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

if TYPE_CHECKING:
    from datetime import datetime


PAGE = 200
TITLE_WIDTH = 24
NARROW_TITLE_WIDTH = 16
LOGIN_WIDTH = 10
WIDE = 100
"""Below this many columns the table drops the approver (the detail has it), the year
of the window and the metering points, so that the author is not cut at 80."""
STATUSES = ("draft", "submitted", "approved", "completed", "cancelled")
STATUS_CHOICES = {"draft": "draft (+ rejected)"}
LIVE = frozenset({"draft", "submitted", "approved"})

# (column key, header); the key doubles as the DataTable column key.
COLUMNS = (
    ("id", "#"),
    ("status", "status"),
    ("title", "title"),
    ("window", "window (local time)"),
    ("affected", "MPs/subs"),
    ("author", "author"),
    ("approver", "approver"),
)
# Column key → storage sort name; `s` cycles through them in this order.
SORT_BY_COLUMN = {
    "window": "start",
    "status": "status",
    "title": "title",
    "affected": "affected",
    "author": "author",
}
SORT_WORDS = {
    "start": ("window", "earliest first", "latest first"),
    "status": ("status", "A–Z", "Z–A"),
    "title": ("title", "A–Z", "Z–A"),
    "affected": ("subscribers affected", "fewest first", "most first"),
    "author": ("author", "A–Z", "Z–A"),
}

# Row action → the permission it needs and the statuses it fits.
ROW_ACTIONS: dict[str, tuple[Action, frozenset[str]]] = {
    "cancel_outage": (Action.CANCEL, LIVE),
    "amend": (Action.AMEND, LIVE),
    "withdraw": (Action.SUBMIT, frozenset({"submitted"})),
    "delete_draft": (Action.DELETE_DRAFT, frozenset({"draft"})),
    "edit_draft": (Action.EDIT_DRAFT, frozenset({"draft"})),
    "priority": (Action.VIEW, frozenset({"draft", "submitted", "approved"})),
}


@dataclass(frozen=True)
class Filters:
    """What the table asks storage for; a load for stale filters is dropped."""

    text: str = ""
    status: str = "all"
    sort: str = "start"
    descending: bool = False

    @property
    def statuses(self) -> tuple[str, ...]:
        return () if self.status == "all" else (self.status,)


NARROW_COLUMNS = (
    ("id", "#"),
    ("status", "status"),
    ("title", "title"),
    ("window", "window (local)"),
    ("affected", "subs"),
    ("author", "author"),
)


def columns(narrow: bool) -> tuple[tuple[str, str], ...]:
    return NARROW_COLUMNS if narrow else COLUMNS


def cells(row: OutageRow, narrow: bool = False) -> tuple[Text, ...]:
    """One table row; Text so a "[" in a title is never read as markup."""
    title = ("URGENT " if row.urgent else "") + row.title
    window = format_window(row.starts_at, row.ends_at, row.timezone)
    if narrow:
        return (
            Text(str(row.id), justify="right"),
            Text(status_label(row)),
            Text(clip(title, NARROW_TITLE_WIDTH)),
            Text(window[5:]),
            Text(f"{row.affected_subscribers:,}", justify="right"),
            Text(clip(row.created_by, LOGIN_WIDTH)),
        )
    return (
        Text(str(row.id), justify="right"),
        Text(status_label(row)),
        Text(clip(title, TITLE_WIDTH)),
        Text(window),
        Text(f"{row.affected_mps:,}/{row.affected_subscribers:,}", justify="right"),
        Text(clip(row.created_by, LOGIN_WIDTH)),
        Text(clip(row.approved_by or "—", LOGIN_WIDTH)),
    )


class OutageTable(DataTable[Text]):
    """The outages table; Enter opens the highlighted outage (shown in the footer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="outages.open"),
    ]


class OutagesScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    """The list of outages and the row actions on them."""

    CSS_PATH = "outages.tcss"
    BINDING_GROUP_TITLE = "Outages"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_outage", "Cancel outage", id="outages.cancel"),
        Binding("e", "edit_draft", "Edit draft", id="outages.edit"),
        Binding("a", "amend", "Amend", id="outages.amend"),
        Binding("w", "withdraw", "Withdraw", id="outages.withdraw"),
        Binding("delete", "delete_draft", "Delete draft", id="outages.delete"),
        Binding("p", "priority", "Priority customers", id="outages.priority"),
        Binding("slash", "focus_filter", "Filter", id="outages.filter"),
        Binding("f", "cycle_status", "Status filter", id="outages.status", show=False),
        Binding("s", "cycle_sort", "Sort", id="outages.sort"),
        Binding("r", "reverse_sort", "Reverse sort", id="outages.reverse", show=False),
        Binding("m", "more", "Load more", id="outages.more"),
        Binding("ctrl+r", "reload", "Reload", id="outages.reload", show=False),
        Binding("escape", "focus_table", "Back to the table", id="outages.table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = Filters()
        self.rows: list[OutageRow] = []
        self.total = 0
        self._labels: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder="/ filter: title, reason or author", id="text")
            yield Select(
                [("all statuses", "all"), *((STATUS_CHOICES.get(s, s), s) for s in STATUSES)],
                value="all",
                allow_blank=False,
                id="status",
            )
        yield OutageTable(id="outages", cursor_type="row", zebra_stripes=True)
        yield Static("loading…", id="summary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(OutageTable).focus()
        self.dispatch.changes.follow(self, frozenset({OUTAGES}), self.reload)

    def on_screen_resume(self) -> None:
        """Coming back (F3, a closed dialog or detail) shows what others changed meanwhile."""
        self.reload()

    # -- loading -------------------------------------------------------------

    def reload(self) -> None:
        """Read the pages already shown again; the cursor stays on its outage."""
        self.load(self.filters, 0, max(PAGE, len(self.rows)))

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="outages-load",
        description="Loading outages",
    )
    def load(self, filters: Filters, offset: int, limit: int) -> None:
        with self.dispatch.engine.connect() as conn:
            rows, total = outages.list_outages(
                conn,
                statuses=filters.statuses,
                text=filters.text,
                sort=filters.sort,
                descending=filters.descending,
                offset=offset,
                limit=limit,
            )
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, filters, offset, rows, total)

    def _loaded(self, filters: Filters, offset: int, rows: list[OutageRow], total: int) -> None:
        if filters != self.filters:
            return
        if offset:
            seen = {row.id for row in self.rows[:offset]}
            rows = self.rows[:offset] + [row for row in rows if row.id not in seen]
        self.rows, self.total = rows, total
        self._show_rows()

    @property
    def narrow(self) -> bool:
        return 0 < self.size.width < WIDE

    def on_resize(self) -> None:
        if self.rows:
            self._show_rows()

    def _column_labels(self) -> tuple[str, ...]:
        arrow = " ▼" if self.filters.descending else " ▲"
        return tuple(
            label + (arrow if SORT_BY_COLUMN.get(key) == self.filters.sort else "")
            for key, label in columns(self.narrow)
        )

    def _show_rows(self) -> None:
        """Update cells in place when the order is unchanged, else rebuild the rows."""
        table = self.query_one(OutageTable)
        narrow = self.narrow
        labels = self._column_labels()
        keep: str | None = None
        if labels != self._labels:
            # New columns (a sort arrow moved, the width crossed WIDE): the rows go too,
            # so the cursor's outage is remembered here.
            if table.row_count and table.is_valid_row_index(table.cursor_row):
                keep = str(table.ordered_rows[table.cursor_row].key.value)
            table.clear(columns=True)
            for (key, _header), label in zip(columns(narrow), labels, strict=True):
                table.add_column(label, key=key)
            self._labels = labels
        rows = [(str(row.id), cells(row, narrow)) for row in self.rows]
        fill_rows(table, rows)
        if keep is not None and keep in (key for key, _ in rows):
            table.move_cursor(row=table.get_row_index(keep))
        self._show_summary()
        self.refresh_bindings()

    def _show_summary(self) -> None:
        filters = self.filters
        name, ascending, descending = SORT_WORDS[filters.sort]
        parts = [
            f"Outages: {len(self.rows):,} of {self.total:,}",
            "all statuses" if filters.status == "all" else f"status {filters.status}",
        ]
        if filters.text.strip():
            parts.append(f"matching “{filters.text.strip()}”")
        parts.append(f"sorted by {name}, {descending if filters.descending else ascending}")
        if len(self.rows) < self.total:
            parts.append("m loads more")
        if not self.total:
            parts[0] = "Outages: none match"
        self.query_one("#summary", Static).update(Text(" · ".join(parts)))

    def highlighted(self) -> OutageRow | None:
        """The outage under the cursor, from the last load."""
        table = self.query_one(OutageTable)
        if not self.rows or not table.row_count:
            return None
        index = min(table.cursor_row, len(self.rows) - 1)
        return self.rows[index] if index >= 0 else None

    def _set_filters(self, filters: Filters) -> None:
        if filters != self.filters:
            self.filters = filters
            self.load(filters, 0, PAGE)

    # -- bindings ------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what the role may not do; disable what the highlighted status does not fit."""
        if action in ROW_ACTIONS:
            needed, fits = ROW_ACTIONS[action]
            if not self.dispatch.identity.may(needed):
                return False
            row = self.highlighted()
            return True if row is not None and row.status in fits else None
        if action == "more":
            return len(self.rows) < self.total
        return True

    @on(DataTable.RowHighlighted, "#outages")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()
        last = event.cursor_row == len(self.rows) - 1
        if last and len(self.rows) < self.total:
            self.action_more()

    @on(DataTable.RowSelected, "#outages")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(OutageDetailScreen(int(event.row_key.value)))

    @on(DataTable.HeaderSelected, "#outages")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value or ""
        sort = SORT_BY_COLUMN.get(key)
        if sort is None:
            sortable = ", ".join(SORT_WORDS[s][0] for s in SORT_BY_COLUMN.values())
            header = dict(COLUMNS).get(key, key)
            self.notify(f"The list cannot be sorted by {header}; it sorts by {sortable}.")
            return
        descending = not self.filters.descending if sort == self.filters.sort else False
        self._set_filters(replace(self.filters, sort=sort, descending=descending))

    @on(Input.Changed, "#text")
    def _text_changed(self, event: Input.Changed) -> None:
        self._set_filters(replace(self.filters, text=event.value))

    @on(Input.Submitted, "#text")
    def _text_submitted(self) -> None:
        self.action_focus_table()

    @on(Select.Changed, "#status")
    def _status_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._set_filters(replace(self.filters, status=event.value))

    def action_focus_filter(self) -> None:
        self.query_one("#text", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(OutageTable).focus()

    def action_cycle_status(self) -> None:
        choices = ("all", *STATUSES)
        following = choices[(choices.index(self.filters.status) + 1) % len(choices)]
        self.query_one("#status", Select).value = following

    def action_cycle_sort(self) -> None:
        order = list(SORT_BY_COLUMN.values())
        following = order[(order.index(self.filters.sort) + 1) % len(order)]
        self._set_filters(replace(self.filters, sort=following, descending=False))

    def action_reverse_sort(self) -> None:
        self._set_filters(replace(self.filters, descending=not self.filters.descending))

    def action_more(self) -> None:
        if len(self.rows) < self.total:
            self.load(self.filters, len(self.rows), PAGE)

    def action_reload(self) -> None:
        self.reload()

    # -- row actions ---------------------------------------------------------

    def action_cancel_outage(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.ask_cancel(row.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="outages-ask")
    def ask_cancel(self, outage_id: int) -> None:
        """Whether notices went out decides what the question warns about."""
        try:
            with self.dispatch.engine.connect() as conn:
                detail = outages.get_outage(conn, outage_id)
        except OutageError as exc:
            self.app.call_from_thread(self._refused, str(exc))
            return
        self.app.call_from_thread(self._confirm_cancel, detail)

    def _confirm_cancel(self, detail: OutageDetail) -> None:
        row = detail.row
        if detail.notices_sent:
            consequence = (
                "Notices already went out: customers already told will get a cancellation notice."
            )
        else:
            consequence = "No notices have gone out yet, so nobody will be told."
        question = (
            f"Cancel outage #{row.id} “{row.title}”\n"
            f"({format_window(row.starts_at, row.ends_at, row.timezone)})?\n\n"
            f"{consequence}\nA cancelled outage cannot be brought back."
        )
        if row.status == "approved":
            # An approved outage was (or was about to be) announced: say why it is off.
            self.app.push_screen(
                ReasonDialog(f"{question}\n\nWhy is it cancelled?", action="Cancel outage"),
                partial(self._cancel_answered, row.id),
            )
            return
        self.app.push_screen(
            ConfirmDialog(question, yes="Cancel outage", no="Keep it"),
            lambda yes: self._cancel_answered(row.id, "" if yes else None),
        )

    def _cancel_answered(self, outage_id: int, reason: str | None) -> None:
        if reason is not None:
            self.change(
                partial(
                    outage_lifecycle.cancel,
                    self.dispatch.engine,
                    outage_id,
                    actor=self._actor,
                    reason=reason,
                ),
                f"Outage #{outage_id} cancelled.",
            )

    def action_amend(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        dialog = AmendDialog(row.title, row.starts_at, row.ends_at, row.timezone, status=row.status)
        self.app.push_screen(dialog, partial(self._amend_answered, row))

    def _amend_answered(self, row: OutageRow, window: tuple[datetime, datetime] | None) -> None:
        if window is None:
            return
        starts_at, ends_at = window
        done = f"Outage #{row.id}: new window saved."
        if row.status != "draft":
            done = f"Outage #{row.id} amended; it is back waiting for approval."
        self.change(
            partial(
                outage_lifecycle.amend,
                self.dispatch.engine,
                row.id,
                starts_at,
                ends_at,
                actor=self._actor,
            ),
            done,
        )

    def action_edit_draft(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.open_form(row.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="outages-edit")
    def open_form(self, outage_id: int) -> None:
        """The drafting form on a stored draft (its selection comes along)."""
        with self.dispatch.engine.connect() as conn:
            detail = outages.get_outage(conn, outage_id)
        form = OutageFormScreen(
            detail.row.utility_id, detail.selection, outage_id=outage_id, existing=detail.row
        )
        self.app.call_from_thread(self.app.push_screen, form, lambda _saved: self.action_reload())

    def action_priority(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.app.push_screen(PriorityScreen(row.id, row.title))

    def action_withdraw(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.change(
                partial(outage_lifecycle.withdraw, self.dispatch.engine, row.id, actor=self._actor),
                f"Outage #{row.id} withdrawn; it is a draft again.",
            )

    def action_delete_draft(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        question = (
            f"Delete draft #{row.id} “{row.title}”?\n\n"
            "It is removed for good; the audit log keeps a record."
        )
        self.app.push_screen(
            ConfirmDialog(question, yes="Delete draft", no="Keep it"),
            partial(self._delete_answered, row.id),
        )

    def _delete_answered(self, outage_id: int, yes: bool | None) -> None:
        if yes:
            self.change(
                partial(
                    outage_lifecycle.delete_draft,
                    self.dispatch.engine,
                    outage_id,
                    actor=self._actor,
                ),
                f"Draft #{outage_id} deleted.",
            )

    @property
    def _actor(self) -> str:
        return self.dispatch.identity.login

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="outages-change",
        description="Changing an outage",
    )
    def change(self, step: Callable[[], None], done: str) -> None:
        """Run one storage change; its refusal is shown in its own words."""
        try:
            step()
        except OutageError as exc:
            self.app.call_from_thread(self._refused, str(exc))
            return
        self.app.call_from_thread(self._changed, done)

    def _refused(self, message: str) -> None:
        self.notify(message, title="Refused", severity="error", timeout=8)
        self.reload()

    def _changed(self, message: str) -> None:
        self.notify(message, title="Done")
        self.reload()
