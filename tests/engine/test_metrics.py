"""The engine's /metrics after real sends through a local Kannel-like gateway
and real delivery reports to the listener: the text parses with
prometheus-client's own parser and every figure is the database's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from dispatch_tui.engine import metrics
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.metrics_queries import reason_class
from dispatch_tui.storage.tables import message
from tests.engine.conftest import FAST, settings, until
from tests.engine.factory import make_outbox, message_states
from tests.engine.fake_gateway import ACCEPT, FakeKannel, Reply
from tests.gateways import free_port

TOKEN = "metrics-test-token_0123456789abcdefXYZ0123"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def script(n: int) -> Reply:
    if n == 3:
        return Reply(400, "Number(s) has/have been denied", count=False)
    if n == 5:
        return Reply(503, "Service unavailable", count=False)
    return ACCEPT


@pytest.fixture
def gateway() -> Iterator[FakeKannel]:
    started = FakeKannel(script).start()
    yield started
    started.stop()


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


async def test_metrics_match_the_database_after_a_real_send(
    engine: Engine, gateway: FakeKannel
) -> None:
    notice_id = make_outbox(engine, 10)
    config = settings(
        sms_gateway="kannel",
        sms_kannel_url=gateway.url,
        sms_kannel_password="p",
        engine_report_token=TOKEN,
        engine_listen_port="0",
    )
    delivery = DeliveryEngine(engine, config, listen=True, tuning=FAST)
    await delivery.start()
    try:
        await until(
            lambda: message_states(engine, notice_id) == {"sent": 9, "failed": 1}, what="settled"
        )
        waiting = make_outbox(engine, 2, channel="telegram")  # no sender: stays pending
        assert delivery.listener is not None
        base = f"http://127.0.0.1:{delivery.listener.port}"
        with engine.connect() as conn:
            sent = conn.execute(
                select(message.c.id).where(message.c.status == "sent").order_by(message.c.id)
            ).scalars()
            ids = list(sent)
        async with aiohttp.ClientSession() as session:
            for message_id, status in [*((i, 1) for i in ids[:4]), (ids[4], 16)]:
                url = f"{base}/dlr/{TOKEN}?id={message_id}&status={status}"
                async with session.get(url) as response:
                    assert response.status == 200
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain; version=")
                text = await response.text()
    finally:
        await delivery.stop()
    scraped_at = datetime.now(UTC)
    samples = parse(text)
    assert "+3864" not in text and "Načrtovan" not in text  # no address, no text

    with engine.connect() as conn:
        by_state = dict(
            ((c, s), n)
            for c, s, n in conn.execute(
                select(message.c.channel, message.c.status, func.count()).group_by(
                    message.c.channel, message.c.status
                )
            )
        )
        sent_at = conn.execute(
            select(func.count()).where(message.c.channel == "sms", message.c.sent_at.is_not(None))
        ).scalar_one()
        delivered = conn.execute(
            select(message.c.sent_at, message.c.delivered_at).where(message.c.status == "delivered")
        ).all()
        failed = conn.execute(
            select(message.c.last_error, func.count())
            .where(message.c.status == "failed")
            .group_by(message.c.last_error)
        ).all()
        oldest = conn.execute(
            select(func.min(message.c.created_at)).where(message.c.notice_id == waiting)
        ).scalar_one()
    assert by_state == {
        ("sms", "delivered"): 4,
        ("sms", "sent"): 4,
        ("sms", "failed"): 2,
        ("telegram", "pending"): 2,
    }
    for channel in ("sms", "email", "telegram", "viber"):
        for state in ("pending", "sending", "sent", "delivered", "failed", "retry_wait"):
            expected = by_state.get((channel, state), 0)
            assert value(samples, "dispatch_messages", channel=channel, state=state) == expected
    assert value(samples, "dispatch_messages_sent_total", channel="sms") == sent_at == 9
    assert value(samples, "dispatch_retry_backlog", channel="sms") == 0
    assert value(samples, "dispatch_delivery_reports_recent", channel="sms") == 4
    lags = [(d - s).total_seconds() for s, d in delivered]
    mean = value(samples, "dispatch_delivery_report_lag_seconds", channel="sms", stat="mean")
    longest = value(samples, "dispatch_delivery_report_lag_seconds", channel="sms", stat="max")
    assert mean == pytest.approx(sum(lags) / 4, abs=0.01)
    assert longest == pytest.approx(max(lags), abs=0.01)
    assert value(samples, "dispatch_delivery_reports_recent", channel="email") == 0
    for reason, count in failed:
        labels = {"channel": "sms", "state": "failed", "reason": reason_class(reason)}
        assert value(samples, "dispatch_message_failures", **labels) == count
    age = value(samples, "dispatch_oldest_unsent_age_seconds", channel="telegram")
    assert 0 <= age <= (scraped_at - oldest).total_seconds()
    assert value(samples, "dispatch_oldest_unsent_age_seconds", channel="sms") == 0
    assert value(samples, "dispatch_engines_alive", kind="engine") == 1
    assert value(samples, "dispatch_leases_held", process=delivery.id, what="messages") == 0
    beat = {k: v for k, v in samples.items() if k[0] == "dispatch_engine_heartbeat_age_seconds"}
    assert len(beat) == 1 and 0 <= next(iter(beat.values())) < 30
    assert value(samples, "dispatch_channel_paused", channel="sms") == 0
    assert value(samples, "dispatch_gateway_healthy", channel="sms") == 1
    assert value(samples, "dispatch_notices", state="done") == 2


async def test_a_database_that_does_not_answer_is_503_and_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = create_db_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/dispatch")
    app = web.Application()
    metrics.add_route(app, gone)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    assert response.status == 503
                    assert await response.text() == "metrics unavailable: database error"
    finally:
        await runner.cleanup()
        gone.dispose()
    said = [r for r in caplog.records if r.name == "dispatch_tui.engine.metrics"]
    assert len(said) == 1 and "metrics not served" in said[0].getMessage()
