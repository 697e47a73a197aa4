"""Asks for a mandatory reason (a rejection, an opt-out); returns `str | None`."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class ReasonDialog(ModalScreen[str | None]):
    """None when cancelled; an empty reason is refused in place, not returned."""

    DEFAULT_CSS = """
    ReasonDialog { align: center middle; }
    ReasonDialog > Vertical {
        width: 72;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        padding: 1 2;
        background: $surface;
    }
    ReasonDialog #prompt { width: 1fr; }
    ReasonDialog #error { color: $error; height: auto; }
    ReasonDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    ReasonDialog Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, *, action: str = "OK", max_length: int = 1000) -> None:
        super().__init__()
        self.prompt = prompt
        self.action_label = action
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt, id="prompt")
            yield Input(placeholder="reason", id="reason", max_length=self.max_length)
            yield Label("", id="error")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.action_label, id="ok", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._submit()

    def _submit(self) -> None:
        text = self.query_one("#reason", Input).value.strip()
        if not text:
            self.query_one("#error", Label).update("A reason is required.")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
