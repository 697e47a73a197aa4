"""F1 / ?: the keys of the screen underneath first, then the global ones, then the
generic keys of the focused widget (scrolling, copying): what the operator came for
is on the first page, not after Textual's own keys."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

PACKAGE = "dispatch_tui"


def own_actions(node: DOMNode) -> set[str]:
    """Actions bound by the project's classes in `node`'s ancestry (not Textual's)."""
    actions: set[str] = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith(PACKAGE):
            for binding in cls.__dict__.get("BINDINGS", []):
                actions.add(binding.action if isinstance(binding, Binding) else binding[1])
    return actions


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
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

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(heading, [(key, what it does)]): this screen's, everywhere, the widget's."""
        screen: list[tuple[str, str]] = []
        everywhere: list[tuple[str, str]] = []
        generic: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for active in self.beneath.active_bindings.values():
            binding, node = active.binding, active.node
            if not binding.description:
                continue
            row = (self.app.get_key_display(binding), binding.description)
            if row in seen:
                continue
            seen.add(row)
            if binding.action not in own_actions(node):
                generic.append(row)
            elif node is self.app:
                everywhere.append(row)
            else:
                screen.append(row)
        return [
            ("This screen", screen),
            ("Everywhere", everywhere),
            ("In the focused list or field", generic),
        ]

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "does")
        for heading, rows in self.sections():
            if rows:
                table.add_row("", Text(heading, style="bold underline"))
                for key, does in rows:
                    table.add_row(key, does)
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
