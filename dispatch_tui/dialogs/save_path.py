"""Asks where to write a file, offering a default; returns `Path | None`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class SavePathDialog(ModalScreen[Path | None]):
    """None when cancelled. Enter accepts the default as offered; `~` is the home
    directory, and a bare file name goes beside the default."""

    DEFAULT_CSS = """
    SavePathDialog { align: center middle; }
    SavePathDialog > Vertical {
        width: 76;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        padding: 1 2;
        background: $surface;
    }
    SavePathDialog #prompt { width: 1fr; }
    SavePathDialog #error { color: $error; height: auto; }
    SavePathDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    SavePathDialog Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, default: Path, *, action: str = "Write") -> None:
        super().__init__()
        self.prompt = prompt
        self.default = default
        self.action_label = action

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt, id="prompt")
            yield Input(str(self.default), placeholder="file", id="path")
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
        text = self.query_one("#path", Input).value.strip()
        if not text:
            self.query_one("#error", Label).update("A file name is required.")
            return
        path = Path(text).expanduser()
        self.dismiss(path if path.is_absolute() else self.default.parent / path)

    def action_cancel(self) -> None:
        self.dismiss(None)
