"""The preview of a draft, full screen, before saving or submitting."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header

from dispatch_tui.storage.preview import Preview
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.preview_panel import PreviewPanel
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors


class PreviewScreen(ReportsWorkerErrors, Screen[None]):
    AUTO_FOCUS = "#preview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back to the form")
    ]

    def __init__(self, title: str, preview: Preview) -> None:
        super().__init__()
        self.preview = preview
        self.sub_title = f"Preview — {title}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield PreviewPanel(self.preview, id="preview")
        yield KeyFooter()
