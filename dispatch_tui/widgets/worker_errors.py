"""Failed database work becomes a visible notice, never a silent stop.

`Worker.StateChanged` does not bubble (Textual posts it only to the node
that started the worker), so every screen or widget that runs workers mixes
this in; the handler is found by name through the class hierarchy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual.dom import DOMNode


class ReportsWorkerErrors:
    """Mixin for a Textual DOM node that runs workers with `exit_on_error=False`."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            cast("DOMNode", self).app.notify(
                f"{event.worker.error}", title="Error", severity="error", timeout=8
            )
