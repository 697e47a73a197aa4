"""Fan-out: one message per (notice, contact), all addresses in one text,
opt-outs respected at fan-out time, a second fan-out adds nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update

from dispatch_tui.storage import fanout
from dispatch_tui.storage.tables import contact, message, notice
from tests.storage.test_outbox import approved  # noqa: F401  (fixture)


def due_notice(engine: Engine, notice_id: int) -> tuple[int, datetime]:
    """The first SMS notice of the outage that owns `notice_id`."""
    with engine.connect() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == notice_id)
        ).scalar_one()
        rows = conn.execute(
            select(notice.c.id, notice.c.due_at, notice.c.channels)
            .where(notice.c.outage_id == outage_id, notice.c.status == "scheduled")
            .order_by(notice.c.due_at, notice.c.id)
        ).all()
    first = next(r for r in rows if "sms" in r.channels)
    return first.id, first.due_at


def test_fan_out_once_with_all_addresses(engine: Engine, approved: int) -> None:  # noqa: F811
    with engine.begin() as conn:
        conn.execute(
            update(contact)
            .where(contact.c.address == "ana.novak@example.si")
            .values(consent="opted_out")
        )
    notice_id, due_at = due_notice(engine, approved)
    now = due_at + timedelta(seconds=1)
    assert fanout.fan_out(engine, notice_id, owner="x", now=now - timedelta(hours=1)) is None
    result = fanout.fan_out(engine, notice_id, owner="x", now=now)
    assert result is not None and result.subscribers == 2
    with engine.connect() as conn:
        rows = conn.execute(
            select(message.c.channel, message.c.address, message.c.body, message.c.segments).where(
                message.c.notice_id == notice_id
            )
        ).all()
        channels = conn.execute(
            select(notice.c.channels).where(notice.c.id == notice_id)
        ).scalar_one()
    expected = {("sms", "+38641123456"), ("sms", "+38631555666")}
    assert "sms" in channels
    got = {(c, a) for c, a, _b, _s in rows if c == "sms"}
    assert got == expected
    ana = next(body for c, a, body, _s in rows if a == "+38641123456")
    assert "5" in ana and "7" in ana and "Prešernova" in ana  # both of Ana's addresses, one SMS
    assert all(s >= 1 for *_r, s in rows)
    assert fanout.fan_out(engine, notice_id, owner="y", now=now) is None
    with engine.begin() as conn:
        conn.execute(update(notice).where(notice.c.id == notice_id).values(status="scheduled"))
    again = fanout.fan_out(engine, notice_id, owner="y", now=now)
    assert again is not None
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(message).where(message.c.notice_id == notice_id)
        ).scalar_one()
    assert total == len(rows)
