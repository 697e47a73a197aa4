"""`/`: find a metering point by id, address, EIC, meter or account number.

Searches as you type (each keystroke cancels the previous query) and
returns the chosen hit, or None.
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

from dispatch_tui.storage.search import SearchHit, search_metering_points
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors


class SearchDialog(ReportsWorkerErrors, ModalScreen[SearchHit | None]):
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
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Metering point id, address, EIC, meter number or account:")
            yield Input(placeholder="e.g. 6-100001, Prešernova 5, 62Z…", id="query")
            yield OptionList(id="results")
            yield Label("", id="status")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def run_search(self, text: str) -> None:
        with self.app.engine.connect() as conn:  # type: ignore[attr-defined]
            hits = search_metering_points(conn, text, limit=50)
        self.app.call_from_thread(self._show, text, hits)

    def _show(self, text: str, hits: list[SearchHit]) -> None:
        if text != self.query_one(Input).value:
            return
        self.hits = hits
        results = self.query_one(OptionList)
        results.clear_options()
        results.add_options(
            Option(f"{hit.mp_id}  {hit.address}  ({hit.matched_on})", id=str(index))
            for index, hit in enumerate(hits)
        )
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
