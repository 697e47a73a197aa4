"""`/`: find a place in the network or a metering point.

Areas, substations, feeders and stations by name or code, settlements and
streets, metering points by id, address, EIC, meter or account number. Each
row starts with what kind of thing it is. Searches as you type (each
keystroke cancels the previous query) and returns the chosen hit, or None.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from dispatch_tui.storage.search import Hit, PlaceHit, search
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

EXAMPLES = ("Kranj", "RTP Labore", "Prešernova 5", "EG-R01-SS01", "6-100001", "62Z")
"""The placeholder's examples; the demo has a hit for each (tests/storage/test_demo.py)."""

KIND_LABELS = {
    "region": "area",
    "substation": "substation",
    "feeder": "feeder",
    "transformer_station": "station",
    "settlement": "settlement",
    "street": "street",
}


def hit_label(hit: Hit) -> str:
    """One result row: the kind first, so "Kranj" the area and "Kranj" the town differ."""
    if isinstance(hit, PlaceHit):
        where = f", {hit.detail}" if hit.detail else ""
        return (
            f"{KIND_LABELS.get(hit.kind, hit.kind)}: {hit.name}{where} · {hit.metering_points:,} MP"
        )
    return f"MP {hit.mp_id}: {hit.address} ({hit.matched_on})"


class SearchDialog(AppAccess, ReportsWorkerErrors, ModalScreen[Hit | None]):
    DEFAULT_CSS = """
    SearchDialog { align: center middle; }
    SearchDialog > Vertical {
        width: 90%;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    SearchDialog OptionList { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "focus_results", "Results", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[Hit] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Area, substation, feeder, settlement, street or metering point:")
            yield Input(placeholder=f"e.g. {', '.join(EXAMPLES)}…", id="query")
            yield OptionList(id="results")
            yield Label("", id="status")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def run_search(self, text: str) -> None:
        with self.dispatch.engine.connect() as conn:
            hits = search(conn, text, limit=50)
        self.app.call_from_thread(self._show, text, hits)

    def _show(self, text: str, hits: list[Hit]) -> None:
        if text != self.query_one(Input).value:
            return
        self.hits = hits
        results = self.query_one(OptionList)
        results.clear_options()
        results.add_options(Option(hit_label(hit), id=str(index)) for index, hit in enumerate(hits))
        status = "no match" if text.strip() and not hits else f"{len(hits)} found" if hits else ""
        self.query_one("#status", Label).update(status)

    @on(Input.Submitted, "#query")
    def _submitted(self) -> None:
        if self.hits:
            self.dismiss(self.hits[0])

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.hits[int(event.option.id or 0)])

    def action_focus_results(self) -> None:
        self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
