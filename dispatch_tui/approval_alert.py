"""A shift lead hears of what waits for them: when an outage starts waiting
for their approval (submitted, or amended back), a notification and the
terminal bell; the header counts what waits, whatever screen is in front.

Only outages the operator may decide count (four-eyes: not their own, not
one they edited), so nobody is called to an approval they would be refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from dispatch_tui.storage import changes, outages

if TYPE_CHECKING:
    from dispatch_tui.app import DispatchApp


class ApprovalAlert:
    """Reads what awaits the operator whenever outages change."""

    def __init__(self, app: DispatchApp) -> None:
        self.app = app
        self.waiting: dict[int, str] | None = None

    def start(self) -> None:
        """Follow the outages from now on (the change feed's first signal reads them)."""
        self.app.changes.follow(self.app, frozenset({changes.OUTAGES}), self.read)

    def read(self) -> None:
        self.app.run_worker(
            self._read,
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="approval-alert",
            description="reading what awaits approval",
        )

    def _read(self) -> None:
        with self.app.engine.connect() as conn:
            waiting = outages.awaiting_approval(conn, self.app.identity.login)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, waiting)

    def _show(self, waiting: dict[int, str]) -> None:
        """The first reading is what already waited; later ones tell what is new."""
        new = [] if self.waiting is None else sorted(waiting.keys() - self.waiting.keys())
        self.waiting = waiting
        self.app.show_awaiting(len(waiting))
        if not new:
            return
        if len(new) == 1:
            text = f"Outage #{new[0]} “{waiting[new[0]]}” awaits your approval (F4)."
        else:
            text = f"{len(new)} more outages await your approval (F4)."
        self.app.notify(text, title="Approval")
        self.app.bell()
