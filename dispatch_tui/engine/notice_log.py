"""The log's story of a notice this engine fanned out: fan-out done (messages by
channel), then sending finished (messages by state), one line each.

Only the process that built a notice follows it, so several engines on one
database do not say the same thing; it is followed until none of its
messages is pending, sending or waiting to retry.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Engine

from dispatch_tui.engine.gateway_health import duration
from dispatch_tui.storage import metrics_queries
from dispatch_tui.storage.monitor import LEFT_STATES

log = logging.getLogger(__name__)


def by_state(counts: dict[str, int]) -> str:
    """`1,200 delivered, 3 failed`: the states there are, most first."""
    found = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count:,} {state}" for state, count in found if count) or "no messages"


class NoticeLog:
    def __init__(self, db: Engine) -> None:
        self.db = db
        self._sending: dict[int, float] = {}
        """Notice → `time.monotonic()` of its fan-out."""

    def fanned_out(self, notice_id: int, messages: int, subscribers: int, seconds: float) -> None:
        log.info(
            "notice %d: fan-out done in %.1f s: %d messages for %d subscribers; sending",
            notice_id,
            seconds,
            messages,
            subscribers,
            extra={
                "event": "notice_fanned_out",
                "notice": notice_id,
                "messages": messages,
                "subscribers": subscribers,
                "seconds": round(seconds, 2),
            },
        )
        if messages:
            self._sending[notice_id] = time.monotonic()

    async def check(self) -> None:
        """Say which followed notices have finished sending (one query for all of them)."""
        if not self._sending:
            return
        counts = await asyncio.to_thread(self._counts, list(self._sending))
        for notice_id, states in counts.items():
            if any(states.get(state) for state in LEFT_STATES):
                continue
            started = self._sending.pop(notice_id)
            log.info(
                "notice %d: sending finished after %s: %s",
                notice_id,
                duration(time.monotonic() - started),
                by_state(states),
                extra={"event": "notice_finished", "notice": notice_id, "states": states},
            )

    def _counts(self, ids: list[int]) -> dict[int, dict[str, int]]:
        with self.db.connect() as conn:
            return metrics_queries.notice_counts(conn, ids)
