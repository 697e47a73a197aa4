"""A modal asking for one line of text, refusing a wrong answer in place."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

T = TypeVar("T")


class TextEntryDialog(ModalScreen[T | None], Generic[T]):
    """None when cancelled. Subclasses make the input (`entry`) and turn its text
    into the answer (`accept`), raising ValueError with the message shown under
    the input when the text will not do."""

    DEFAULT_CSS = """
    TextEntryDialog { align: center middle; }
    TextEntryDialog > Vertical {
        width: 72;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        padding: 1 2;
        background: $surface;
    }
    TextEntryDialog #prompt { width: 1fr; }
    TextEntryDialog #error { color: $error; height: auto; }
    TextEntryDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    TextEntryDialog Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, *, action: str) -> None:
        super().__init__()
        self.prompt = prompt
        self.action_label = action

    def entry(self) -> Input:
        raise NotImplementedError

    def accept(self, text: str) -> T:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt, id="prompt")
            yield self.entry()
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
        try:
            answer = self.accept(self.query_one(Input).value.strip())
        except ValueError as refused:
            self.query_one("#error", Label).update(str(refused))
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
