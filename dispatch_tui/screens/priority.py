"""Priority customers of one outage: who to call, their phones, and who has called.

Opened from the outages list and the approvals screen (key p). Marking a call is
recorded in the audit log by storage, which checks the role; the export writes a
CSV into the operator's home directory, readable by them only (it holds names and
phone numbers).
"""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import priority
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.priority import PriorityPoint
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.preview_panel import plural
from dispatch_tui.widgets.table_rows import fill_rows
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

COLUMNS = (
    ("mp", "Metering point"),
    ("address", "Address"),
    ("names", "Customer"),
    ("phones", "Phone"),
    ("called", "Called"),
)


def called_text(point: PriorityPoint) -> str:
    if point.called_by is None or point.called_at is None:
        return "✗ not yet"
    return f"✓ {point.called_by} {point.called_at.astimezone(UTC):%H:%M} UTC"


class PriorityScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    """One row per affected priority metering point."""

    BINDING_GROUP_TITLE = "Priority customers"
    CSS_PATH = "priority.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "mark_called", "Mark called", id="priority.called"),
        Binding("x", "export", "Export CSV", id="priority.export"),
        Binding("escape", "back", "Back", id="priority.back"),
    ]

    def __init__(self, outage_id: int, title: str) -> None:
        super().__init__()
        self.outage_id = outage_id
        self.outage_title = title
        self.points: list[PriorityPoint] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Outage #{self.outage_id} {self.outage_title}: loading…", id="heading")
        yield DataTable(id="points", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="priority")
    def load(self) -> None:
        with self.dispatch.engine.connect() as conn:
            points = priority.priority_points(conn, self.outage_id)
        self.app.call_from_thread(self._show, points)

    def _show(self, points: list[PriorityPoint]) -> None:
        self.points = points
        waiting = sum(1 for p in points if p.called_by is None)
        heading = self.query_one("#heading", Static)
        if not points:
            heading.update(
                Text(f"Outage #{self.outage_id} {self.outage_title}: no priority customers.")
            )
        else:
            heading.update(
                Text.assemble(
                    (f"Outage #{self.outage_id} {self.outage_title}", "bold"),
                    f"\n{plural(len(points), 'priority metering point')}; ",
                    (f"{waiting} still to call" if waiting else "all called", "bold"),
                    " · c marks the highlighted one called · x exports CSV",
                )
            )
        rows = [
            (
                p.mp_id,
                (
                    p.mp_id,
                    p.address,
                    "; ".join(p.names) or "—",
                    "; ".join(p.phones) or "no phone",
                    called_text(p),
                ),
            )
            for p in points
        ]
        fill_rows(self.query_one(DataTable), rows)
        self.refresh_bindings()

    def highlighted(self) -> PriorityPoint | None:
        table = self.query_one(DataTable)
        if not self.points or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.points[table.cursor_row]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mark_called":
            if not self.dispatch.identity.may(Action.CALL_PRIORITY):
                return False
            point = self.highlighted()
            return True if point is not None and point.called_by is None else None
        if action == "export":
            return True if self.points else None
        return True

    def action_mark_called(self) -> None:
        point = self.highlighted()
        if point is not None:
            self.mark(point.mp_id)

    @work(thread=True, exit_on_error=False, group="priority-mark")
    def mark(self, mp_id: str) -> None:
        try:
            priority.mark_called(
                self.dispatch.engine, self.outage_id, mp_id, actor=self.dispatch.identity.login
            )
        except OutageError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
        else:
            self.app.call_from_thread(self.notify, f"{mp_id}: call recorded.")
        self.load()

    def action_export(self) -> None:
        self.export(list(self.points))

    @work(thread=True, exit_on_error=False, group="priority-export")
    def export(self, points: list[PriorityPoint]) -> None:
        path = Path.home() / f"dispatch-tui-priority-outage-{self.outage_id}.csv"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older export may have been made readable to others
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(priority.priority_csv(points))
        self.app.call_from_thread(
            self.notify, f"{len(points)} rows written to {path} (readable by you only)"
        )

    def action_back(self) -> None:
        self.dismiss(None)
