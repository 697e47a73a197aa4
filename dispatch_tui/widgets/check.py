"""A checkbox whose state is in its glyph: "[x]" ticked, "[ ]" not.

Textual's `Checkbox` draws "▐X▌" for both states and tells them apart by colour
alone, which NO_COLOR (on-call over SSH) removes: every box then looks ticked.
"""

from __future__ import annotations

from textual.widgets import Checkbox

TICKED = "x"
CLEAR = " "


class Check(Checkbox):
    """`Checkbox` with "[x]" / "[ ]"; the same value, messages and bindings."""

    BUTTON_LEFT = "["
    BUTTON_RIGHT = "]"
    BUTTON_INNER = CLEAR

    def on_mount(self) -> None:
        self.watch(self, "value", self._show_value, init=True)

    def _show_value(self, value: bool) -> None:
        self.BUTTON_INNER = TICKED if value else CLEAR
        self.refresh()
