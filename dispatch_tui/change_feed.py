"""What other terminals changed, app-wide: a Signal of changed topics that
screens in view follow by reloading only what they show.

SQLite: the change counters are read once a second (one tiny query, in a
thread). PostgreSQL: a LISTEN connection on the app's event loop is told
at commit. After (re)connecting every topic counts as changed, since what
happened meanwhile is unknown.

It runs as an asyncio task for the app's lifetime rather than as a Textual
worker: workers are meant to finish (tests and shutdown wait for them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sqlalchemy import Engine
from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.signal import Signal

from dispatch_tui.storage import changes

POLL_SECONDS = 1.0
RETRY_SECONDS = 5.0


class ChangeFeed:
    """Publishes the topics changed since the last look to `signal`."""

    def __init__(self, app: App[Any], engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.signal: Signal[frozenset[str]] = Signal(app, "changes")
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def follow(self, node: DOMNode, topics: frozenset[str], reload: Callable[[], object]) -> None:
        """Call `reload` when one of `topics` changed; for a screen, only while it
        is in view (coming back into view, it reloads on its own)."""

        def changed(which: frozenset[str]) -> None:
            in_view = not isinstance(node, Screen) or node.is_current
            if which & topics and in_view:
                reload()

        self.signal.subscribe(node, changed)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="change feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        follow = self._listen if self.engine.dialect.name == "postgresql" else self._poll
        while True:
            try:
                await follow()
            except Exception as exc:  # the database went away: say so once, keep trying
                if not self._failing:
                    self.app.notify(
                        f"Not following other terminals ({exc}); retrying. Ctrl+R reloads.",
                        title="Live updates",
                        severity="warning",
                        timeout=10,
                    )
                self._failing = True
                await asyncio.sleep(RETRY_SECONDS)

    def _following(self) -> None:
        """Reading works (again)."""
        if self._failing:
            self._failing = False
            self.app.notify("Following other terminals again.", title="Live updates")

    async def _poll(self) -> None:
        seen: dict[str, int] | None = None
        while True:
            current = await asyncio.to_thread(self._versions)
            self._following()
            changed = changes.TOPICS if seen is None else _differ(seen, current)
            seen = current
            if changed:
                self.signal.publish(changed)
            await asyncio.sleep(POLL_SECONDS)

    def _versions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return changes.versions(conn)

    async def _listen(self) -> None:
        async with changes.listen(self.engine) as listener:
            self._following()
            self.signal.publish(changes.TOPICS)
            while True:
                changed = await listener.changed()
                if changed:
                    self.signal.publish(changed)


def _differ(before: dict[str, int], after: dict[str, int]) -> frozenset[str]:
    return frozenset(t for t in after.keys() | before.keys() if before.get(t) != after.get(t))
