"""The audit screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class AuditScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("audit")
        yield Footer()
