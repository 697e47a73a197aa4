"""The key bar at the foot of every screen."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer, compact, rebuilt once per change of bindings.

    Compact fits more keys into 80 columns (on-call over SSH), and it is the
    keys' own default: a non-compact footer restyles every key it makes.
    Showing a screen signals a change of bindings several times in one
    refresh; Textual's Footer recomposes for each signal, this one once.
    """

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._recompose_pending = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._recompose_pending:
            return
        if self.is_attached and screen is self.screen:
            self._recompose_pending = True
            self.call_after_refresh(self._recompose_once)

    async def _recompose_once(self) -> None:
        self._recompose_pending = False
        await self.recompose()
