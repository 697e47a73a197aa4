"""Engine tests: a recording sender and a way to run the engine until a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispatch_tui.config import Settings, load_settings
from dispatch_tui.engine.delivery import DeliveryTuning
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.base import OutgoingMessage, Sender, SendOutcome
from dispatch_tui.senders.sandbox import SandboxSender

FAST = DeliveryTuning(
    batch=50,
    concurrency=20,
    lease=timedelta(seconds=30),
    unknown_wait=timedelta(seconds=1),
    retry_base=0.05,
    retry_cap=0.2,
    idle=0.05,
)


class Recording(SandboxSender):
    """A sandbox that remembers every message handed to it."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self.messages: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        self.messages.append(message)
        return await super().send(message)


def settings(**env: str) -> Settings:
    values = {"DISPATCH_TUI_SMS_RATE": "5000", "DISPATCH_TUI_EMAIL_RATE": "5000"}
    values.update({f"DISPATCH_TUI_{k.upper()}": v for k, v in env.items()})
    return load_settings(env=values, user_file=Path("/nonexistent/config.toml"))


@asynccontextmanager
async def running(
    db: Engine, senders: dict[str, Sender], *, tuning: DeliveryTuning = FAST, **kwargs: object
) -> AsyncIterator[DeliveryEngine]:
    engine = DeliveryEngine(
        db,
        settings(),
        senders=senders,
        tuning=tuning,
        sync_seconds=0.2,
        **kwargs,  # type: ignore[arg-type]
    )
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll `condition` (it may touch the database) off the loop until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
