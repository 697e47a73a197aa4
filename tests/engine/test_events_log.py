"""The engine's log says what changed, not that time passed: a gateway outage
against a real local HTTP gateway gives one unhealthy and one healthy line with
counts, no scheduler ticks, and every JSON line parses; -v adds each delivery
report and inbound message without the token or the number; a notice's story
(fan-out started and done, sending finished with counts by state)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine

from dispatch_tui.engine import log_setup
from dispatch_tui.engine.gateway_health import GatewayHealth
from dispatch_tui.engine.notice_log import NoticeLog
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.base import Sender
from dispatch_tui.senders.kannel import KannelSender
from dispatch_tui.storage import processes
from dispatch_tui.storage.models import CHANNELS
from tests.engine.conftest import FAST, Recording, running, settings, until
from tests.engine.factory import make_outbox, message_states
from tests.engine.fake_gateway import FakeKannel
from tests.gateways import free_port
from tests.storage.fanout_procs import big_notice

TOKEN = "events-log-test-token_0123456789abcdefXYZ"
TICKS = ("Running job", "executed successfully", "Added job", "Removed job")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The engine's JSON log, as `dispatch-tui engine --log-format json -v` writes it."""
    stream = io.StringIO()
    names = ("", "dispatch_tui", "apscheduler", log_setup.ACCESS_LOG)
    levels = {name: logging.getLogger(name).level for name in names}
    handler = log_setup.configure(verbose=True, log_format="json", stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def events(stream: io.StringIO, event: str) -> list[dict[str, Any]]:
    return [line for line in lines(stream) if line.get("event") == event]


def reported_down(engine: Engine) -> set[str]:
    """The gateways the living processes' heartbeats say are down (every header shows it)."""
    with engine.connect() as conn:
        found = processes.list_processes(conn, since=processes.ALIVE_WITHIN)
    return {channel for p in found if p.alive for channel in p.gateways_down}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_gateway_outage_is_two_lines_with_counts_and_no_ticks(
    engine: Engine, captured: io.StringIO
) -> None:
    """Kannel is down (connections refused) when sending starts, then comes up."""
    port = free_port()
    notice_id = make_outbox(engine, 30)
    sender = KannelSender(
        url=f"http://127.0.0.1:{port}/cgi-bin/sendsms", username="u", password="p", dlr_url=None
    )
    gateway = FakeKannel(port=port)
    gateway.port = 0  # until started
    try:
        async with running(engine, {"sms": sender}):
            await until(lambda: bool(events(captured, "gateway_unhealthy")), what="unhealthy")
            await until(
                lambda: message_states(engine, notice_id).get("retry_wait", 0) > 0,
                what="retries",
            )
            await asyncio.sleep(0.5)  # some sync ticks while it is down
            await until(lambda: reported_down(engine) == {"sms"}, what="heartbeat says down")
            gateway.port = port
            gateway.start()
            await until(lambda: message_states(engine, notice_id) == {"sent": 30}, what="sent")
            await until(lambda: reported_down(engine) == set(), what="heartbeat says up")
    finally:
        if gateway.port:
            gateway.stop()
    found = lines(captured)
    text = captured.getvalue()
    assert not any(tick in text for tick in TICKS), text
    [down] = events(captured, "gateway_unhealthy")
    [up] = events(captured, "gateway_healthy")
    assert down["level"] == "WARNING" and down["channel"] == "sms"
    assert "cannot connect" in down["message"] and "unhealthy" in down["message"]
    assert up["level"] == "INFO" and "healthy again" in up["message"]
    assert up["failures"] >= 3 and up["retries"] == up["failures"] and up["unknown"] == 0
    assert f"{up['failures']} attempts failed" in up["message"]
    assert {"time", "level", "logger", "message"} <= set(up)
    assert [e["event"] for e in found if e.get("event", "").startswith("engine_")] == [
        "engine_started",
        "engine_stopped",
    ]


def said_last(caplog: pytest.LogCaptureFixture) -> str:
    return caplog.records[-1].getMessage()


def test_flapping_is_throttled_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    """One line per state per minute; what was held back is said with the count."""
    now = [0.0]
    health = GatewayHealth("sms", "SMS via Kannel x", threshold=2, every=60, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="dispatch_tui.engine.gateway_health")

    def flap() -> None:
        health.record("retry", "answered 503")
        health.record("retry", "answered 503")
        now[0] += 1
        health.record("sent")
        now[0] += 1

    for _ in range(5):
        flap()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and "unhealthy" in said[0] and "healthy again" in said[1]
    now[0] = 200
    health.tick()  # the held-back line is owed: the state it ended in, with the count
    assert len(caplog.records) == 3
    assert "healthy again" in said_last(caplog) and "8 changes in all" in said_last(caplog)
    health.record("retry", "answered 503")
    health.record("retry", "answered 503")
    assert "unhealthy" in said_last(caplog) and "changes" not in said_last(caplog)
    now[0] = 300
    health.record("retry", "answered 503")
    reminder = said_last(caplog)
    assert "still unhealthy after 100 s: 3 attempts failed" in reminder


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_verbose_logs_each_report_and_inbound_sms_without_secrets(
    engine: Engine, captured: io.StringIO
) -> None:
    notice_id = make_outbox(engine, 2)
    config = settings(
        engine_report_token=TOKEN, engine_listen_port="0", engine_listen_host="127.0.0.1"
    )
    delivery = DeliveryEngine(
        engine, config, listen=True, senders={"sms": Recording("sms")}, tuning=FAST
    )
    await delivery.start()
    try:
        await until(lambda: message_states(engine, notice_id) == {"sent": 2}, what="sent")
        assert delivery.listener is not None
        base = f"http://127.0.0.1:{delivery.listener.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/dlr/{TOKEN}?id=1&status=1") as response:
                assert response.status == 200
            inbound = {"from": "+38641555123", "to": "ELEKTRO", "text": "STOP", "id": "mo-1"}
            async with session.get(f"{base}/mo/{TOKEN}", params=inbound) as response:
                assert response.status == 200
    finally:
        await delivery.stop()
    text = captured.getvalue()
    assert TOKEN not in text and "+38641555123" not in text and "555123" not in text
    [report] = events(captured, "delivery_report")
    assert report["message_id"] == 1 and report["state"] == "delivered"
    assert "message 1 kannel 1 → delivered" in report["message"]
    [mo] = events(captured, "inbound")
    assert "***123" in mo["message"]
    access = [line["message"] for line in lines(captured) if line["logger"].endswith(".access")]
    assert any("/dlr/***" in line for line in access), access


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_notice_is_followed_until_its_messages_are_settled(
    engine: Engine, captured: io.StringIO
) -> None:
    notice_id = make_outbox(engine, 5)
    story = NoticeLog(engine)
    story.fanned_out(notice_id, 5, 5, 0.25)
    await story.check()
    assert not events(captured, "notice_finished")  # all five still pending
    async with running(engine, {"sms": Recording("sms")}):
        await until(lambda: message_states(engine, notice_id) == {"sent": 5}, what="sent")
    await story.check()
    [fanned] = events(captured, "notice_fanned_out")
    assert fanned["messages"] == 5 and fanned["notice"] == notice_id
    [done] = events(captured, "notice_finished")
    assert done["states"] == {"sent": 5} and "5 sent" in done["message"]
    await story.check()
    assert len(events(captured, "notice_finished")) == 1


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log format 'xml'"):
        log_setup.configure(log_format="xml")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_due_notice_is_started_fanned_out_and_finished_in_the_log(
    engine: Engine, captured: io.StringIO
) -> None:
    notice_id = big_notice(engine, 20)
    senders: dict[str, Sender] = {channel: Recording(channel) for channel in CHANNELS}
    async with running(engine, senders):
        await until(lambda: bool(events(captured, "notice_finished")), what="finished")
    started, fanned, done = (
        line
        for line in lines(captured)
        if line.get("event", "").startswith("notice_") and line["notice"] == notice_id
    )
    assert started["event"] == "notice_fan_out_started"
    assert fanned["event"] == "notice_fanned_out" and fanned["subscribers"] == 20
    assert done["event"] == "notice_finished"
    assert sum(done["states"].values()) == fanned["messages"] > 0
    assert set(done["states"]) <= {"sent", "failed"}
