"""A bot channel without a token has no sender (issue 15): the real engine, built
from settings as `dispatch-tui engine` builds it, says so, and the monitor shows its
messages waiting for a sender instead of in flight, while the other channels finish."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.screens.monitor import notice_state, pace
from dispatch_tui.storage import monitor, processes
from tests.engine.conftest import FAST, settings, until
from tests.engine.factory import make_outbox, message_states


async def test_telegram_without_a_token_waits_for_a_sender(engine: Engine) -> None:
    telegram = make_outbox(engine, 3, channel="telegram")
    email = make_outbox(engine, 3, channel="email")
    # SMS over Kannel: the sandbox no longer stands in for the bots (engine.gateways).
    db_engine = DeliveryEngine(
        engine, settings(sms_gateway="kannel"), tuning=FAST, sync_seconds=0.2
    )
    await db_engine.start()
    try:
        assert set(db_engine.senders) == {"sms", "email"}
        # The sandbox gateway fails 1 % and reports deliveries: wait until all are settled.
        await until(
            lambda: set(message_states(engine, email)) <= {"sent", "delivered", "failed"},
            what="e-mail settled",
        )
        with engine.connect() as conn:
            progress = {n.notice_id: n for n in monitor.progress(conn)}
            (me,) = [p for p in processes.list_processes(conn) if p.id == db_engine.id]
        assert me.alive
    finally:
        await db_engine.stop()
    assert message_states(engine, telegram) == {"pending": 3}
    (bot,) = progress[telegram].channels
    assert (bot.no_sender, bot.left, bot.in_flight) == (True, 3, 0)
    assert pace(bot, datetime.now(UTC)).startswith("NO SENDER configured")
    assert notice_state(progress[telegram]) == "waits for sender"
    assert notice_state(progress[email]) == "done"
    # With no engine alive nothing is known about senders, and the monitor says nothing.
    with engine.connect() as conn:
        (after,) = [n for n in monitor.progress(conn) if n.notice_id == telegram]
    assert not after.channels[0].no_sender
