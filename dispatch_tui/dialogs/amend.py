"""Asks for a new outage window in the utility's local time; returns UTC or None.

The operator types wall-clock time where the outage happens (what customers
read), so the dialog converts with the utility's zone and refuses, in place,
what cannot be meant: unparseable text, an end not after the start, a time
that does not exist or happens twice around a DST change. Storage re-checks
everything; these checks only save a round trip and say which field is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dispatch_tui.domain.timeparse import FORMAT_HINT, format_local, parse_local


class AmendDialog(ModalScreen[tuple[datetime, datetime] | None]):
    """None when abandoned; otherwise the new (start, end), both aware UTC."""

    DEFAULT_CSS = """
    AmendDialog { align: center middle; }
    AmendDialog > Vertical {
        width: 76;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        padding: 0 1;
        background: $surface;
    }
    AmendDialog Label { width: 1fr; }
    AmendDialog #hint { margin-bottom: 1; color: $text-muted; }
    AmendDialog .times { height: auto; }
    AmendDialog .times Vertical { height: auto; width: 1fr; }
    AmendDialog #errors { height: auto; }
    AmendDialog #note { color: $text-muted; height: auto; margin-top: 1; }
    AmendDialog .buttons { height: auto; align-horizontal: right; }
    AmendDialog Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Keep the window", id="amend.cancel"),
        Binding("ctrl+s", "amend", "Amend", id="amend.save"),
    ]

    def __init__(
        self,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        timezone: str,
        *,
        status: str = "approved",
        now: datetime | None = None,
    ) -> None:
        super().__init__()
        self.outage_title = title
        self.starts_at, self.ends_at = starts_at, ends_at
        self.timezone = timezone
        self.status = status
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble(("Amend the window", "bold"), f" of “{self.outage_title}”"))
            yield Label(f"Local time in {self.timezone}, as {FORMAT_HINT}", id="hint")
            with Horizontal(classes="times"):
                with Vertical():
                    yield Label("Start")
                    yield Input(
                        format_local(self.starts_at, self.timezone), FORMAT_HINT, id="start"
                    )
                with Vertical():
                    yield Label("Expected end")
                    yield Input(format_local(self.ends_at, self.timezone), FORMAT_HINT, id="end")
            yield Static("", id="errors")
            yield Static(self._note(), id="note")
            with Horizontal(classes="buttons"):
                yield Button("Keep (Esc)", id="cancel")
                yield Button("Amend (Ctrl+S)", id="amend", variant="primary")

    def _note(self) -> str:
        if self.status == "draft":
            return "A draft only gets the new window."
        return (
            "The outage goes back for approval (a new revision); once approved, customers "
            "already told get an amendment notice."
        )

    def on_mount(self) -> None:
        self.query_one("#start", Input).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#amend")
    @on(Input.Submitted)
    def action_amend(self) -> None:
        window = self.window()
        if window is not None:
            self.dismiss(window)

    def window(self) -> tuple[datetime, datetime] | None:
        """The typed window in UTC, or None after listing what is wrong beside the fields."""
        problems: list[str] = []
        times: dict[str, datetime] = {}
        for field, name in (("start", "start"), ("end", "end")):
            box = self.query_one(f"#{field}", Input)
            try:
                times[field] = parse_local(box.value, self.timezone)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                box.add_class("-invalid")
            else:
                box.remove_class("-invalid")
        now = self.now or datetime.now(UTC)
        start, end = times.get("start"), times.get("end")
        if start is not None and end is not None:
            if end <= start:
                problems.append("end: must be after the start")
            elif (start, end) == (self.starts_at, self.ends_at):
                problems.append("the window is unchanged; change the start or the end")
            else:
                if start != self.starts_at and start <= now:
                    problems.append("start: a moved start must be in the future")
                if end <= now:
                    problems.append("end: must be in the future")
        self.query_one("#errors", Static).update(
            Text("\n".join(f"✗ {problem}" for problem in problems))
        )
        if problems or start is None or end is None:
            return None
        return start, end
