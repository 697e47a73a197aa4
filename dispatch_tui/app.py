"""The Textual app: wiring only."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Engine
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from dispatch_tui.widgets.network_tree import NetworkTree


class DispatchApp(App[None]):
    """Until the dispatcher screens land, the network tree is the whole app."""

    TITLE = "dispatch-tui"
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("q", "quit", "Quit")
    ]

    def __init__(self, engine: Engine, *, sandbox: bool) -> None:
        super().__init__()
        self.engine = engine
        where = engine.url.render_as_string(hide_password=True)
        self.sub_title = f"{'SANDBOX SMS  ·  ' if sandbox else ''}{where}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield NetworkTree(self.engine, id="network")
        yield Footer()
