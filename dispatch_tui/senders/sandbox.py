"""A simulated gateway for demos, training and benchmarks.

It exercises the whole engine (latency, permanent failures, "unknown"
outcomes, delivery reports) without sending anything to a real person, and
its label always starts with "SANDBOX" so nobody mistakes a demo for a real
dispatch. Delivery reports are delivered in-process through `on_report`, so a
demo needs no HTTP listener for Kannel-style DLR callbacks.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable

from dispatch_tui.senders.base import OutgoingMessage, SenderError, SendOutcome

__all__ = ["ReportCallback", "SandboxSender"]

log = logging.getLogger(__name__)

ReportCallback = Callable[[int, str], Awaitable[None]]
"""`on_report(message_id, status)` with status "delivered" or "failed"; by
message id, like Kannel's dlr-url, because a report may arrive before the
engine has stored the gateway's reference."""


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


class SandboxSender:
    """Pretends to be a gateway for `channel`; outcomes come from a seeded rng.

    Per send, one draw decides: `failure_rate` → permanent failure,
    `unknown_rate` → unknown, otherwise sent with a ref like
    "sandbox-<run>-<n>" (the run token keeps refs unique across restarts, so
    old outbox rows never match new reports). For sent messages, if
    `on_report` is set, a background task reports "failed" for a
    `report_failure_rate` share and "delivered" otherwise after `report_delay`.
    """

    def __init__(
        self,
        channel: str,
        *,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        unknown_rate: float = 0.0,
        seed: int | None = None,
        on_report: ReportCallback | None = None,
        report_delay: float = 0.0,
        report_failure_rate: float = 0.0,
    ) -> None:
        _check_rate("failure_rate", failure_rate)
        _check_rate("unknown_rate", unknown_rate)
        _check_rate("report_failure_rate", report_failure_rate)
        if failure_rate + unknown_rate > 1.0:
            raise ValueError("failure_rate + unknown_rate must not exceed 1")
        if latency < 0 or report_delay < 0:
            raise ValueError("latency and report_delay must be >= 0")
        self.channel = channel
        self.label = f"SANDBOX {channel.upper()}"
        self.latency = latency
        self.failure_rate = failure_rate
        self.unknown_rate = unknown_rate
        self.report_delay = report_delay
        self.report_failure_rate = report_failure_rate
        self._on_report = on_report
        self._rng = random.Random(seed)
        self._run = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._reports: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pending_reports(self) -> int:
        """Delivery reports scheduled but not yet delivered."""
        return len(self._reports)

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        """Simulate one gateway round trip."""
        if self._closed:
            raise SenderError(f"{self.label} sender is closed")
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        draw = self._rng.random()
        if draw < self.failure_rate:
            return SendOutcome.permanent(f"{self.label}: simulated rejection")
        if draw < self.failure_rate + self.unknown_rate:
            return SendOutcome.unknown(f"{self.label}: simulated timeout after submit")
        ref = f"sandbox-{self._run}-{next(self._counter)}"
        if self._on_report is not None:
            status = "failed" if self._rng.random() < self.report_failure_rate else "delivered"
            task = asyncio.create_task(self._report(self._on_report, message.id, status))
            self._reports.add(task)
            task.add_done_callback(self._reports.discard)
        return SendOutcome.sent(ref)

    async def _report(self, callback: ReportCallback, message_id: int, status: str) -> None:
        if self.report_delay > 0:
            await asyncio.sleep(self.report_delay)
        try:
            await callback(message_id, status)
        except Exception:
            # A failing consumer must not turn into "Task exception was never retrieved".
            log.exception("sandbox delivery report for message %s failed", message_id)

    async def close(self) -> None:
        """Cancel reports not yet delivered; further sends raise `SenderError`."""
        self._closed = True
        tasks = list(self._reports)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._reports.clear()
