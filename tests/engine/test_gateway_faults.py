"""Gateway faults against the real send loop: 503 storms, 429 with
Retry-After, timeouts and refused connections are retried and nothing is
lost; permanent refusals fail at once with the reason; the monitor shows
the backoff."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.senders.kannel import KannelSender
from dispatch_tui.storage import monitor
from dispatch_tui.storage.tables import message
from tests.engine.conftest import running, until
from tests.engine.factory import make_outbox, message_states
from tests.engine.fake_gateway import ACCEPT, FakeKannel, Reply, Script
from tests.gateways import free_port


@pytest.fixture
def gateway_with() -> Iterator[type[FakeKannel]]:
    started: list[FakeKannel] = []

    class Started(FakeKannel):
        def __init__(self, script: Script) -> None:
            super().__init__(script)
            started.append(self)
            self.start()

    yield Started
    for gateway in started:
        gateway.stop()


def kannel(url: str, timeout: float = 5.0) -> KannelSender:
    return KannelSender(url=url, username="u", password="p", dlr_url=None, timeout=timeout)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_503_storm_is_ridden_out_and_the_monitor_shows_the_backoff(
    engine: Engine, gateway_with: type[FakeKannel]
) -> None:
    storm = Reply(503, "Service unavailable", count=False)
    # The storm lasts until the monitor has shown the backoff (at least 150 answers):
    # on a slow machine a fixed storm could pass between two looks.
    seen = threading.Event()
    gateway = gateway_with(lambda n: storm if n <= 150 or not seen.is_set() else ACCEPT)
    notice_id = make_outbox(engine, 100)

    def backing_off() -> bool:
        with engine.connect() as conn:
            [progress] = [p for p in monitor.progress(conn) if p.notice_id == notice_id]
        channel = progress.channels[0]
        if channel.counts["retry_wait"] > 0 and channel.next_retry_at is not None:
            seen.set()
        return seen.is_set()

    async with running(engine, {"sms": kannel(gateway.url)}):
        await until(backing_off, what="messages backing off")
        await until(lambda: message_states(engine, notice_id) == {"sent": 100}, what="all sent")
    assert set(gateway.counts().values()) == {1} and len(gateway.counts()) == 100


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_429_retry_after_cools_the_channel_down(
    engine: Engine, gateway_with: type[FakeKannel]
) -> None:
    arrivals: list[float] = []

    def script(n: int) -> Reply:
        arrivals.append(time.monotonic())
        return Reply(429, "slow down", {"Retry-After": "1"}, count=False) if n == 1 else ACCEPT

    gateway = gateway_with(script)
    notice_id = make_outbox(engine, 1)
    async with running(engine, {"sms": kannel(gateway.url)}):
        await until(lambda: message_states(engine, notice_id) == {"sent": 1}, what="sent")
    assert arrivals[1] - arrivals[0] >= 0.95


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_timeout_after_sending_is_unknown_and_resent_only_later(
    engine: Engine, gateway_with: type[FakeKannel]
) -> None:
    hung = Reply(delay=2.0)
    gateway = gateway_with(lambda n: hung if n == 1 else ACCEPT)
    notice_id = make_outbox(engine, 1)
    async with running(engine, {"sms": kannel(gateway.url, timeout=0.3)}):
        await until(lambda: "unknown" in message_states(engine, notice_id), what="unknown")
        await until(lambda: message_states(engine, notice_id) == {"sent": 1}, what="resent")
    with engine.connect() as conn:
        attempts = conn.execute(select(message.c.attempts)).scalar_one()
    assert attempts == 2 == gateway.requests


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_refused_connections_are_retried_and_permanent_errors_fail_at_once(
    engine: Engine, gateway_with: type[FakeKannel]
) -> None:
    notice_id = make_outbox(engine, 3)
    nobody = f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms"
    async with running(engine, {"sms": kannel(nobody)}):
        await until(
            lambda: message_states(engine, notice_id) == {"retry_wait": 3}, what="retry_wait"
        )
    with engine.connect() as conn:
        reasons = set(conn.execute(select(message.c.last_error)).scalars())
    assert all("cannot connect" in r for r in reasons)
    gateway = gateway_with(lambda n: Reply(400, "Number(s) has/have been denied", count=False))
    async with running(engine, {"sms": kannel(gateway.url)}):
        await until(lambda: message_states(engine, notice_id) == {"failed": 3}, what="failed")
    with engine.connect() as conn:
        rows = conn.execute(select(message.c.attempts, message.c.last_error)).all()
    assert all("denied" in error for _, error in rows)
