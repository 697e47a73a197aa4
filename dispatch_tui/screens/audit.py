"""The audit log: who decided what and when, and whether the hash chain holds.

The log only grows, so the table pages (200 rows at a time, newest first) and
filters in SQL instead of loading it whole. Verifying walks the entire chain,
so it runs in its own worker and never blocks browsing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, LoadingIndicator, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from dispatch_tui.storage import audit
from dispatch_tui.storage.audit import AuditRow, VerifyResult
from dispatch_tui.storage.changes import AUDIT
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from sqlalchemy import Engine


PAGE = 200
# What the other columns usually take; the detail column gets the rest.
OTHER_COLUMNS = 72
FILTER_DELAY = 0.3
LOAD_GROUP = "audit"
VERIFY_GROUP = "audit-verify"


def when(at: datetime) -> str:
    """UTC, to the second: the same text for every operator, whatever their zone."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def compact(detail: object, width: int) -> str:
    """One line of JSON, cut to fit a column; Enter shows it whole."""
    line = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return line if len(line) <= width else line[: width - 1] + "…"


def describe(row: AuditRow) -> Content:
    """The whole entry, pretty JSON and hashes, for the detail panel."""
    head = f"#{row.id}  {when(row.at)} UTC  {row.actor}  {row.action}  {row.entity} {row.entity_id}"
    body = json.dumps(row.detail, ensure_ascii=False, sort_keys=True, indent=2)
    return Content.assemble(
        (head, "bold"),
        "\n",
        body,
        "\n",
        (
            f"hash {row.hash}\nprev {row.prev_hash}"
            if row.hash
            else "not sealed yet: the engine's service account seals it",
            "dim",
        ),
    )


@dataclass(frozen=True)
class Query:
    """What the filters ask for; a change starts a fresh load."""

    text: str = ""
    action: str | None = None


class AuditTable(DataTable[Text]):
    """The log's rows. Enter is listed because DataTable hides its binding; Home
    and End go to the first and last row (left and right still scroll sideways)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail", id="audit.detail"),
        Binding("home", "scroll_top", "First row", show=False, id="audit.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="audit.last"),
    ]


class AuditScreen(AppAccess, Screen[None]):
    """Browse, filter and verify the audit log (any role may view it)."""

    CSS_PATH = "audit.tcss"
    BINDING_GROUP_TITLE = "Audit"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="audit.filter"),
        Binding("v", "verify", "Verify chain", id="audit.verify"),
        Binding("m", "more", "More rows", id="audit.more"),
        Binding("r", "refresh", "Refresh", id="audit.refresh"),
        Binding("escape", "back", "Back", id="audit.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_state = Query()
        self.entries: dict[str, AuditRow] = {}
        self.total = 0
        self._busy = False
        self.loaded_once = False
        self._generation = 0
        self._actions_known = False
        self._filter_timer: Timer | None = None
        self._stale = False

    @property
    def engine(self) -> Engine:
        return self.dispatch.engine

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder="filter: actor, action, entity or id", id="filter")
            yield Select[str]([], prompt="all actions", id="action")
        yield AuditTable(id="entries", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="detail"):
            yield Static(id="detail-body")
        with Horizontal(id="status"):
            yield LoadingIndicator(id="spinner")
            yield Static("loading…", id="count")
            yield Static(id="verdict")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(AuditTable)
        for label, key in (
            ("#", "id"),
            ("time (UTC)", "at"),
            ("actor", "actor"),
            ("action", "action"),
            ("entity", "entity"),
            ("entity id", "entity_id"),
            ("detail", "detail"),
        ):
            table.add_column(label, key=key)
        self.query_one("#detail").border_title = "Entry"
        table.focus()
        self.dispatch.changes.follow(self, frozenset({AUDIT}), self._follow)

    @property
    def busy(self) -> bool:
        """A page is being read; the spinner shows and "more" waits."""
        return self._busy

    @busy.setter
    def busy(self, value: bool) -> None:
        self._busy = value
        self.query_one("#spinner").display = value
        self.refresh_bindings()

    def on_screen_resume(self) -> None:
        """First visit loads; later visits pick up entries written meanwhile."""
        if self.busy:
            return
        self._reload(only_if_changed=self.loaded_once)

    # -- loading --------------------------------------------------------------

    def _reload(self, *, only_if_changed: bool = False) -> None:
        self._generation += 1
        self.busy = True
        self._load(
            self._generation,
            self.query_state,
            None,
            not self._actions_known,
            only_if_changed,
            PAGE,
        )

    def _follow(self) -> None:
        """Entries written elsewhere: read as many rows as are shown again (new
        actions too), so the cursor keeps its row; after the read under way."""
        if self.busy:
            self._stale = True
            return
        self._stale = False
        self._generation += 1
        self.busy = True
        shown = max(PAGE, len(self.entries))
        self._load(self._generation, self.query_state, None, True, True, shown)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group=LOAD_GROUP,
        description="Reading the audit log",
    )
    def _load(
        self,
        generation: int,
        query: Query,
        before_id: int | None,
        with_actions: bool,
        only_if_changed: bool,
        limit: int,
    ) -> None:
        with self.engine.connect() as conn:
            rows, count = audit.list_entries(
                conn, text=query.text, action=query.action, limit=limit, before_id=before_id
            )
            actions = audit.list_actions(conn) if with_actions else None
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(
                self._loaded, generation, before_id, rows, count, actions, only_if_changed
            )

    def _loaded(
        self,
        generation: int,
        before_id: int | None,
        rows: list[AuditRow],
        count: int,
        actions: list[str] | None,
        only_if_changed: bool,
    ) -> None:
        if generation != self._generation:
            return  # the filters changed while this page was read
        self.busy = False
        self.loaded_once = True
        if self._stale:
            self.call_after_refresh(self._follow)
        table = self.query_one(AuditTable)
        if actions is not None:
            self._set_actions(actions)
        if before_id is None:
            shown_newest = next(iter(self.entries), None)
            newest = str(rows[0].id) if rows else None
            if only_if_changed and count == self.total and newest == shown_newest:
                self._take_seals(rows)
                self._show_count()
                return
            keep = self._cursor_key()
            table.clear()
            self.entries.clear()
            self.total = count
        else:
            keep = None
            self.total = len(self.entries) + count
        width = max(20, min(80, self.size.width - OTHER_COLUMNS))
        for row in rows:
            key = str(row.id)
            if key in self.entries:
                continue
            self.entries[key] = row
            table.add_row(
                Text(key),
                Text(when(row.at)),
                Text(row.actor),
                Text(row.action),
                Text(row.entity),
                Text(row.entity_id),
                Text(compact(row.detail, width)),
                key=key,
            )
        if keep is not None and keep in self.entries:
            table.move_cursor(row=table.get_row_index(keep))
        self._show_count()
        self.refresh_bindings()

    def _take_seals(self, rows: list[AuditRow]) -> None:
        """Rows sealed since they were read (by the engine, seconds after an
        operator wrote them): an open detail shows their hashes now."""
        for row in rows:
            shown = self.entries.get(str(row.id))
            if shown is not None and shown.hash != row.hash:
                self.entries[str(row.id)] = row
                if self.query_one("#detail").display and self._cursor_key() == str(row.id):
                    self._show_detail(row)

    def _set_actions(self, actions: list[str]) -> None:
        """Offer the actions present in the log, keeping the current choice."""
        self._actions_known = True
        select = self.query_one("#action", Select)
        chosen = select.value
        select.set_options((a, a) for a in actions)
        if isinstance(chosen, str) and chosen in actions:
            select.value = chosen

    def _cursor_key(self) -> str | None:
        table = self.query_one(AuditTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @property
    def more_available(self) -> bool:
        return len(self.entries) < self.total

    def _show_count(self) -> None:
        shown, total = len(self.entries), self.total
        filtered = bool(self.query_state.text or self.query_state.action)
        if not total:
            text = "no entries match the filter" if filtered else "the audit log is empty"
        elif shown < total:
            text = f"{shown:,} of {total:,} entries, newest first · m or the last row loads more"
        else:
            text = f"{total:,} entries, newest first"
        if filtered and total:
            text += " (filtered)"
        self.query_one("#count", Static).update(text)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """Worker messages do not bubble, so this screen reports its own failures."""
        if event.state != WorkerState.ERROR or event.worker.group not in (
            LOAD_GROUP,
            VERIFY_GROUP,
        ):
            return
        if event.worker.group == LOAD_GROUP:
            self.busy = False
            self.query_one("#count", Static).update("could not read the audit log (r retries)")
        else:
            self._set_verdict("verification failed to run (v retries)", bad=True)
        self.notify(f"{event.worker.error}", title="Audit log", severity="error", timeout=8)

    # -- filters --------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_typed(self) -> None:
        """Wait for a pause in typing: each query counts the matching rows."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._apply_filters)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one(AuditTable).focus()
        self._apply_filters()

    @on(Select.Changed, "#action")
    def _action_chosen(self) -> None:
        self._apply_filters()

    def _apply_filters(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        action = self.query_one("#action", Select).value
        query = Query(
            self.query_one("#filter", Input).value.strip(),
            action if isinstance(action, str) else None,
        )
        if query != self.query_state:
            self.query_state = query
            self._reload()

    # -- rows and detail ------------------------------------------------------

    @on(DataTable.RowHighlighted, "#entries")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Reaching the last row loads the next page; an open detail follows the cursor."""
        if event.cursor_row >= event.data_table.row_count - 1 and self.more_available:
            self.action_more()
        detail = self.query_one("#detail")
        if detail.display and event.row_key.value in self.entries:
            self._show_detail(self.entries[event.row_key.value])

    @on(DataTable.RowSelected, "#entries")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value in self.entries:
            self._show_detail(self.entries[event.row_key.value])

    def _show_detail(self, row: AuditRow) -> None:
        detail = self.query_one("#detail", VerticalScroll)
        detail.display = True
        detail.border_title = f"Entry #{row.id} · Esc closes"
        self.query_one("#detail-body", Static).update(describe(row))
        detail.scroll_home(animate=False)
        self.refresh_bindings()

    # -- verification ---------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group=VERIFY_GROUP,
        description="Verifying the audit chain",
    )
    def _verify(self) -> None:
        with self.engine.connect() as conn:
            result = audit.verify(conn)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._verified, result)

    def _verified(self, result: VerifyResult) -> None:
        if result.ok:
            message = f"audit log intact: {result.checked:,} rows"
            self._set_verdict(f"✓ {message}", bad=False)
            self.notify(message, title="Audit log verified")
            return
        message = f"row {result.first_bad_id}: {result.problem}"
        self._set_verdict(f"✗ {message}", bad=True)
        self.notify(
            f"{message}; the {result.checked:,} rows before it are intact",
            title="Audit log tampered",
            severity="error",
            timeout=15,
        )
        key = str(result.first_bad_id)
        if key in self.entries:
            table = self.query_one(AuditTable)
            table.move_cursor(row=table.get_row_index(key))

    def _set_verdict(self, text: str, *, bad: bool) -> None:
        verdict = self.query_one("#verdict", Static)
        verdict.update(text)
        verdict.set_class(bad, "-bad")
        verdict.set_class(not bad, "-good")

    # -- actions --------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "more":
            if not self.more_available:
                return False
            return None if self.busy else True
        if action == "back":
            return bool(self.query_one("#detail").display) or not isinstance(
                self.focused, AuditTable
            )
        return True

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_verify(self) -> None:
        verdict = self.query_one("#verdict", Static)
        verdict.update("verifying the hash chain…")
        verdict.remove_class("-bad", "-good")
        self._verify()

    def action_more(self) -> None:
        if self.busy or not self.more_available:
            return
        self.busy = True
        self.query_one("#count", Static).update(f"{len(self.entries):,} shown · loading more…")
        oldest = int(next(reversed(self.entries)))
        self._load(self._generation, self.query_state, oldest, False, False, PAGE)

    def action_refresh(self) -> None:
        self._actions_known = False
        self._reload()

    def action_back(self) -> None:
        """Close the detail first; from the filters, return to the table."""
        detail = self.query_one("#detail")
        if detail.display:
            detail.display = False
        else:
            self.query_one(AuditTable).focus()
        self.refresh_bindings()
