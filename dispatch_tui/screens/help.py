"""F1 / ?: the keys of the screen underneath, and the global ones."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 76;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,question_mark,q", "dismiss", "Close"),
    ]

    def __init__(self, beneath: Screen[object]) -> None:
        super().__init__()
        self.beneath = beneath

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"[b]Keys — {self.beneath.__class__.__name__.removesuffix('Screen')}[/b]")
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield Label("Ctrl+P opens the command palette: every action by name.")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "does")
        seen: set[tuple[str, str]] = set()
        for active in self.beneath.active_bindings.values():
            binding = active.binding
            if not binding.description:
                continue
            key = self.app.get_key_display(binding)
            if (key, binding.description) in seen:
                continue
            seen.add((key, binding.description))
            table.add_row(key, binding.description)
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
