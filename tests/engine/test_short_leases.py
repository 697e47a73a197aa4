"""The engine sends with short leases on PostgreSQL and PostgreSQL counts no
deadlock (issue 15: during a 122k send the heartbeat's lease renewal and the
result recording deadlocked, and the heartbeat failed). 5,000 messages here,
with 3-second leases renewed every second by two pipelines' heartbeat;
`python bench/run.py lease-deadlock` sends 100,000 the same way, too slow for
the suite. tests/storage/test_lease_deadlock.py races the two statements
directly."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text

from dispatch_tui.engine.delivery import DeliveryTuning
from dispatch_tui.storage.tables import message
from tests.engine.conftest import FAST, Recording, running, until
from tests.engine.factory import make_outbox

COUNT = 5000
SHORT = DeliveryTuning(
    batch=200,
    concurrency=50,
    pipelines=2,
    lease=timedelta(seconds=3),
    unknown_wait=FAST.unknown_wait,
    retry_base=FAST.retry_base,
    retry_cap=FAST.retry_cap,
    idle=FAST.idle,
)


def deadlocks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        )


def sent(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(message.c.status == "sent")) or 0)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_send_with_short_leases_meets_no_deadlock(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    make_outbox(engine, COUNT)
    before = deadlocks(engine)
    caplog.set_level(logging.WARNING)
    async with running(engine, {"sms": Recording("sms")}, tuning=SHORT):
        await until(lambda: sent(engine) == COUNT, timeout=120, what="every message sent")
    assert deadlocks(engine) == before
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
