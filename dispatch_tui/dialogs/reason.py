"""Asks for a mandatory reason (a rejection, an opt-out); returns `str | None`."""

from __future__ import annotations

from textual.widgets import Input

from dispatch_tui.dialogs.text_entry import TextEntryDialog


class ReasonDialog(TextEntryDialog[str]):
    """None when cancelled; an empty reason is refused in place, not returned."""

    def __init__(self, prompt: str, *, action: str = "OK", max_length: int = 1000) -> None:
        super().__init__(prompt, action=action)
        self.max_length = max_length

    def entry(self) -> Input:
        return Input(placeholder="reason", id="reason", max_length=self.max_length)

    def accept(self, text: str) -> str:
        if not text:
            raise ValueError("A reason is required.")
        return text
