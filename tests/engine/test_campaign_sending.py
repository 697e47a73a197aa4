"""An approved campaign through the running engine: built at its due time and sent by
the same delivery loop as notices, SMS and bots held in quiet hours, e-mail not; done
once everything went."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from dispatch_tui.storage.tables import campaign, message
from tests.engine.conftest import Recording, running, until
from tests.storage.campaign_world import World, approved, local, make_world, snapshot

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

DAY = datetime.now(UTC).date() - timedelta(days=2)
"""The engine's clock runs on a day in the past: its jobs' first runs are at the
clock's `now`, so a clock ahead of the real time would not run them at all."""


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    w = make_world(engine, tmp_path)
    snapshot(
        engine, w.eh, [(sid, 700, DAY - timedelta(days=45), None) for sid in w.accounts.values()]
    )
    return w


def due_then(engine: Engine, cid: int, at: datetime) -> None:
    """The campaign was due at `at` (the draft refused a time in the past)."""
    with engine.begin() as conn:
        conn.execute(update(campaign).where(campaign.c.id == cid).values(due_at=at))


def status(engine: Engine, cid: int) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(campaign.c.status).where(campaign.c.id == cid)))


def states(engine: Engine, cid: int) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(message.c.address, message.c.status).where(message.c.campaign_id == cid)
            ).all()
        )


async def test_sent_by_the_delivery_loop_then_done(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    senders = {ch: Recording(ch) for ch in ("sms", "email", "telegram")}
    at_ten = local(DAY, 10)
    due_then(engine, cid, at_ten - timedelta(hours=1))
    async with running(engine, dict(senders), clock=lambda: at_ten):
        await until(lambda: status(engine, cid) == "done", what="the campaign done")
    assert sorted(m.address for s in senders.values() for m in s.messages) == sorted(
        states(engine, cid)
    )
    assert {s for s in states(engine, cid).values()} <= {"sent", "delivered"}
    (sms,) = [m for m in senders["sms"].messages if m.address == "+359888123456"]
    assert "клиентски номер 300000000001" in sms.body


async def test_quiet_hours_hold_sms_and_bots(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    senders = {ch: Recording(ch) for ch in ("sms", "email", "telegram")}
    night = local(DAY, 23)
    due_then(engine, cid, night - timedelta(hours=1))
    async with running(engine, dict(senders), clock=lambda: night):
        await until(lambda: len(states(engine, cid)) == 5, what="the campaign built")
        await until(lambda: len(senders["email"].messages) == 1, what="the e-mail sent")
        await until(lambda: status(engine, cid) == "sending", what="still sending")
    assert senders["sms"].messages == [] and senders["telegram"].messages == []
    held = sorted(s for s in states(engine, cid).values() if s == "pending")
    assert held == ["pending"] * 4, "the three SMS and the Telegram message wait for 08:00"
