"""One outage in full: what, when (local and UTC), who, and why it came back.

Read-only on purpose: the outages list holds the actions, so a decision is
always taken where the status of every outage is in view. The data is read
in a worker; a deleted outage is explained, not crashed on. Once notices went
out, `x` writes the outage's delivery evidence (storage.evidence) to a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from dispatch_tui.dialogs.save_path import SavePathDialog
from dispatch_tui.domain.roles import Action
from dispatch_tui.printable.entrance_notices import default_pdf_path, write_pdf
from dispatch_tui.storage import evidence
from dispatch_tui.storage.entrance_notices import PRINTABLE
from dispatch_tui.storage.outages import (
    OutageDetail,
    OutageError,
    OutageRow,
    SelectionPlaces,
    get_outage,
    selection_places,
)
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.formatting import format_duration, format_moment, format_window
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

KIND_LABELS = {
    "advance": "5 days before",
    "day_before": "1 day before",
    "day_of": "on the day",
}

STATUS_PHRASES = {
    "draft": "draft — not yet submitted",
    "submitted": "submitted — waiting for a shift lead's approval",
    "approved": "approved — notices go out as planned",
    "completed": "completed",
    "cancelled": "cancelled",
}


def status_label(row: OutageRow) -> str:
    """The status in one word; a draft sent back says "rejected", an approved outage back
    for approval after a change of window says "amended" (never colour alone)."""
    if row.status == "draft" and row.rejection_reason:
        return "rejected"
    if row.status == "submitted" and row.amended_by:
        return "amended"
    return row.status


def sms_text(row: OutageRow) -> str:
    """How SMS go out, with what the approver decided when they did not fit the cap."""
    decision = row.sms_decision or {}
    text = "transliterated to GSM-7" if row.transliterate_sms else "as written"
    if decision.get("transliterate"):
        text += " (the approver's choice)"
    accepted = decision.get("accepted_segments") or {}
    if accepted:
        parts = ", ".join(f"{lang} {n}" for lang, n in sorted(accepted.items()))
        text += f"; over the cap of {decision.get('cap')}, accepted by the approver: {parts} parts"
    return text


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' * (count != 1)}"


def selection_summary(detail: OutageDetail) -> str:
    selection = detail.selection
    text = (
        f"{_plural(len(selection.nodes), 'network node')} and "
        f"{_plural(len(selection.metering_points), 'single metering point')} selected"
    )
    ex_nodes, ex_mps = len(selection.excluded_nodes), len(selection.excluded_metering_points)
    if ex_nodes or ex_mps:
        return f"{text}; excluded {_plural(ex_nodes, 'node')}, {_plural(ex_mps, 'metering point')}"
    return f"{text}; nothing excluded"


def _places(places: SelectionPlaces) -> str:
    """One place a line, so a long name wraps on its own instead of running off the screen."""
    lines = [f"+ {place}" for place in places.included]
    lines += [f"− {place} (excluded)" for place in places.excluded]
    return "\n".join(lines)


def _fields(detail: OutageDetail, places: SelectionPlaces) -> Table:
    row = detail.row
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    status = STATUS_PHRASES.get(row.status, row.status)
    if row.status == "draft" and row.rejection_reason:
        status = "draft — rejected by the reviewer, back with the author"
    texts = "; ".join(f"{lang}: {text}" for lang, text in sorted(row.texts.items()))
    window = format_window(row.starts_at, row.ends_at, row.timezone)
    lines: list[tuple[str, str]] = [
        ("Status", status),
        ("Utility", f"{row.utility_name} ({row.country}), times in {row.timezone}"),
        ("Window", f"{window} · {format_duration(row.starts_at, row.ends_at)}"),
        ("In UTC", format_window(row.starts_at, row.ends_at, "UTC")),
        ("Urgent", "yes — ignores quiet hours" if row.urgent else "no"),
        ("Reason", row.reason),
        *((f"Reason ({lang})", text) for lang, text in sorted(row.reasons.items())),
        (
            "Affected",
            f"{_plural(row.affected_mps, 'metering point')} · "
            f"{_plural(row.affected_subscribers, 'subscriber')} (counted when last saved)",
        ),
        ("Selection", selection_summary(detail)),
        ("Area", _places(places) or "none"),
        ("Channels", ", ".join(row.channels) or "none"),
        ("Notice plan", ", ".join(KIND_LABELS.get(k, k) for k in row.notice_kinds) or "none"),
        ("SMS text", sms_text(row)),
        ("Extra texts", texts or "none"),
        ("Author", row.created_by),
        ("Approver", row.approved_by or "— not approved"),
        (
            "Revision",
            f"{row.revision} — window last changed by {row.amended_by}"
            if row.amended_by
            else f"{row.revision} — never amended",
        ),
        (
            "Notices sent",
            "yes — a cancellation or amendment tells customers already told"
            if detail.notices_sent
            else "no — nobody has been told yet",
        ),
        ("Last change", format_moment(row.updated_at, row.timezone)),
    ]
    for label, value in lines:
        grid.add_row(label, Text(value))
    return grid


class OutageDetailScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    """Everything stored about one outage, for deciding what to do next."""

    CSS_PATH = "outage_detail.tcss"
    BINDING_GROUP_TITLE = "Outage"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to outages", id="outage.back"),
        Binding("ctrl+r", "reload", "Reload", id="outage.reload"),
        Binding("x", "export_evidence", "Export evidence", id="outage.evidence"),
        Binding("p", "print_notices", "Entrance notices PDF", id="outage.print_notices"),
    ]

    def __init__(self, outage_id: int) -> None:
        super().__init__()
        self.outage_id = outage_id
        self.detail: OutageDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(f"Outage #{self.outage_id} — loading…", id="heading")
            yield Static("", id="rejection")
            yield Static("", id="fields")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#rejection").display = False
        self.query_one("#detail").focus()
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Evidence once notices went out; entrance notices for an approved outage only."""
        if action == "export_evidence":
            sent = self.detail is not None and self.detail.notices_sent
            return sent and self.dispatch.identity.may(Action.VIEW)
        if action == "print_notices":
            return self.detail is not None and self.detail.row.status in PRINTABLE
        return True

    def action_export_evidence(self) -> None:
        dialog = SavePathDialog(
            f"Write the delivery evidence of outage #{self.outage_id} (CSV, readable by you "
            "only; the summary goes beside it) to:",
            evidence.default_path(self.outage_id),
        )
        self.app.push_screen(dialog, self._chosen)

    def _chosen(self, path: Path | None) -> None:
        if path is not None:
            self.export_evidence(path)

    @work(thread=True, exit_on_error=False, group="outage-evidence")
    def export_evidence(self, path: Path) -> None:
        try:
            summary = evidence.export_evidence_file(
                self.dispatch.engine, self.outage_id, path, actor=self.dispatch.identity.login
            )
        except evidence.EvidenceError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(
            self.notify,
            f"Evidence of {summary.messages:,} messages ({summary.rows:,} rows) written to "
            f"{path}; summary in {evidence.summary_path(path).name}",
            timeout=15,
        )

    def action_print_notices(self) -> None:
        self.notify("Writing the entrance notices…")
        self.print_notices()

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-notices")
    def print_notices(self) -> None:
        try:
            path, pages = write_pdf(
                self.dispatch.engine, self.outage_id, default_pdf_path(self.outage_id)
            )
        except (OutageError, OSError) as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(
            self.notify, f"{pages} entrance notice(s) written to {path} (readable by you only)"
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-detail")
    def load(self) -> None:
        try:
            with self.dispatch.engine.connect() as conn:
                detail = get_outage(conn, self.outage_id)
                places = selection_places(conn, detail.selection)
        except OutageError as exc:
            self.app.call_from_thread(self._missing, str(exc))
            return
        self.app.call_from_thread(self._show, detail, places)

    def _missing(self, message: str) -> None:
        self.query_one("#heading", Static).update(Text(f"✗ {message}"))

    def _show(self, detail: OutageDetail, places: SelectionPlaces) -> None:
        self.detail = detail
        row = detail.row
        heading = Text.assemble(
            (f"Outage #{row.id}: ", "bold"),
            (row.title, "bold"),
            f"\n{status_label(row)} · revision {row.revision}",
            " · URGENT" if row.urgent else "",
        )
        self.query_one("#heading", Static).update(heading)
        rejection = self.query_one("#rejection", Static)
        rejection.display = bool(row.rejection_reason)
        if row.rejection_reason:
            rejection.update(self._rejection(row))
        self.query_one("#fields", Static).update(_fields(detail, places))
        self.refresh_bindings()

    def _rejection(self, row: OutageRow) -> RenderableType:
        """The reviewer's reason, first thing the author sees, with what to do next."""
        text = Text.assemble(
            ("✗ REJECTED — the reviewer's reason:\n", "bold"), row.rejection_reason or ""
        )
        if row.created_by == self.dispatch.identity.login:
            text.append(
                "\nYou drafted this outage: change what the reviewer asks, then submit it again."
            )
        return text
