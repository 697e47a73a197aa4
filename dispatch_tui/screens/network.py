"""The network: browse the tree, pick what an outage affects, start a draft."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from dispatch_tui.widgets.network_tree import NetworkTree


class NetworkScreen(Screen[None]):
    CSS_PATH = "network.tcss"
    BINDING_GROUP_TITLE = "Network"
    BINDINGS: ClassVar[list[BindingType]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield NetworkTree(self.app.engine, id="network")  # type: ignore[attr-defined]
            with VerticalScroll(id="side"):
                yield Static("Select nodes with space; d drafts an outage.", id="summary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(NetworkTree).focus()
