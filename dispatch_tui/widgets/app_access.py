"""The one typed way screens, dialogs and widgets reach the running `DispatchApp`
(its database engine, settings, identity and change feed).

Textual types `self.app` as a plain `App`; this mixin narrows it once, here,
instead of a cast or a `type: ignore` in every screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from dispatch_tui.app import DispatchApp


class AppAccess:
    """Mixin for a Textual DOM node that lives in a `DispatchApp`."""

    @property
    def dispatch(self) -> DispatchApp:
        return cast("DispatchApp", cast("DOMNode", self).app)
