"""The network: browse the tree, pick what an outage affects, start a draft."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from dispatch_tui.dialogs.search import SearchDialog
from dispatch_tui.domain.roles import Action
from dispatch_tui.domain.selection import Selection
from dispatch_tui.screens.outage_form import OutageFormScreen
from dispatch_tui.storage.affected import AffectedCounts, affected_counts
from dispatch_tui.storage.search import Hit
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.network_tree import NetworkTree
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

HINT = (
    "Enter expands · Space selects a node or metering point (inside a selected node it "
    "excludes) · c clears · d drafts an outage · / searches"
)


class NetworkScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    CSS_PATH = "network.tcss"
    BINDING_GROUP_TITLE = "Network"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "draft", "Draft outage", id="network.draft"),
        Binding("slash", "search", "Search", id="network.search"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.utility_id: int | None = None
        self.selection = Selection()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield NetworkTree(self.dispatch.engine, id="network")
            with VerticalScroll(id="side"):
                yield Static("[b]Selection[/b]\nnothing selected", id="summary")
                yield Static(HINT, id="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(NetworkTree).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "draft":
            return self.app.identity.may(Action.DRAFT)  # type: ignore[attr-defined,no-any-return]
        return True

    @on(NetworkTree.SelectionChanged)
    def _selection_changed(self, event: NetworkTree.SelectionChanged) -> None:
        self.utility_id = event.utility_id
        self.selection = event.selection
        summary = self.query_one("#summary", Static)
        if event.selection.is_empty:
            summary.update("[b]Selection[/b]\nnothing selected")
            return
        summary.update("[b]Selection[/b]\ncounting…")
        self.count(event.selection)

    @on(NetworkTree.Refused)
    def _refused(self, event: NetworkTree.Refused) -> None:
        self.notify(event.reason, severity="warning")

    @work(thread=True, exclusive=True, exit_on_error=False, group="network-count")
    def count(self, selection: Selection) -> None:
        with self.dispatch.engine.connect() as conn:
            counts = affected_counts(conn, selection)
        self.app.call_from_thread(self._show_counts, selection, counts)

    def _show_counts(self, selection: Selection, counts: AffectedCounts) -> None:
        if selection != self.selection:
            return
        channels = " · ".join(f"{c} {n:,}" for c, n in sorted(counts.by_channel().items()))
        languages = " · ".join(f"{lang} {n:,}" for lang, n in sorted(counts.by_language().items()))
        parts = [
            "[b]Selection[/b]",
            f"{len(selection.nodes)} nodes, {len(selection.metering_points)} metering points"
            f" selected, {len(selection.excluded_nodes) + len(selection.excluded_metering_points)}"
            " excluded",
            "",
            f"Affected metering points: [b]{counts.metering_points:,}[/b]",
            f"Subscribers: [b]{counts.subscribers:,}[/b]",
            f"Priority (life support, hospitals): {counts.priority_metering_points:,}",
            f"Contacts by channel: {channels or '—'}",
            f"Contacts by language: {languages or '—'}",
        ]
        self.query_one("#summary", Static).update("\n".join(parts))

    def action_draft(self) -> None:
        if self.utility_id is None or self.selection.is_empty:
            self.notify(
                "Select the affected part of the network first (space on a node).",
                title="Nothing selected",
                severity="warning",
            )
            return
        self.app.push_screen(OutageFormScreen(self.utility_id, self.selection))

    def action_search(self) -> None:
        self.app.push_screen(SearchDialog(), self._found)

    def _found(self, hit: Hit | None) -> None:
        if hit is not None:
            self.query_one(NetworkTree).reveal(hit.target)
