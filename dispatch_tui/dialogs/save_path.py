"""Asks where to write a file, offering a default; returns `Path | None`."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from dispatch_tui.dialogs.text_entry import TextEntryDialog


class SavePathDialog(TextEntryDialog[Path]):
    """None when cancelled. Enter accepts the default as offered; `~` is the home
    directory, and a bare file name goes beside the default."""

    DEFAULT_CSS = "SavePathDialog > Vertical { width: 76; }"

    def __init__(self, prompt: str, default: Path, *, action: str = "Write") -> None:
        super().__init__(prompt, action=action)
        self.default = default

    def entry(self) -> Input:
        return Input(str(self.default), placeholder="file", id="path")

    def accept(self, text: str) -> Path:
        if not text:
            raise ValueError("A file name is required.")
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.default.parent / path
