"""What an operator without a role sees: a clear message and nothing else."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Static

from dispatch_tui.widgets.footer import KeyFooter


class UnknownUserScreen(Screen[None]):
    CSS_PATH = "unknown_user.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit")]

    def __init__(self, login: str, database: str) -> None:
        super().__init__()
        self.login = login
        self.database = database

    def compose(self) -> ComposeResult:
        with Center(), Vertical():
            yield Static(
                f"[b]'{self.login}' is not a dispatch-tui user[/b] of {self.database}.\n\n"
                "Ask an admin to add you:\n"
                f"  dispatch-tui users add {self.login} dispatcher\n\n"
                "Press q to quit.",
                id="message",
            )
        yield KeyFooter()
