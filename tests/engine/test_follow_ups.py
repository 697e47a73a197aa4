"""Cancellation and amendment with the engine running: nothing more of the
old plan leaves, and the follow-up reaches exactly those already told."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from dispatch_tui.storage import fanout, outage_lifecycle, outbox
from dispatch_tui.storage.tables import message, notice
from tests.engine.conftest import Recording, running, until
from tests.engine.factory import message_states
from tests.factories import approved_outage

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)


@pytest.fixture
def half_told(engine: Engine, tmp_path: Path) -> tuple[int, set[int]]:
    """An approved outage whose first notice reached one contact; the rest wait.

    Returns the outage id and the contact ids told.
    """
    # Urgent: nothing moves out of quiet hours, so the test reads the same at any hour.
    oid = approved_outage(engine, tmp_path, starts_at=START, channels=("sms", "email"), urgent=True)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = (
            conn.execute(
                select(notice.c.id).where(notice.c.outage_id == oid).order_by(notice.c.due_at)
            )
            .scalars()
            .first()
        )
        conn.execute(update(notice).where(notice.c.id == first).values(due_at=now))
    assert first is not None
    assert fanout.fan_out(engine, first, owner="t", now=now) is not None
    [told] = outbox.claim_batch(engine, owner="t", channels=["sms"], limit=1, now=now)
    outbox.record_results(engine, owner="t", results=[outbox.Result(told.id, "sent")], now=now)
    with engine.connect() as conn:
        contact_id = conn.execute(
            select(message.c.contact_id).where(message.c.id == told.id)
        ).scalar_one()
        assert conn.execute(select(message.c.id).where(message.c.status == "pending")).all()
    return oid, {contact_id}


def sent_contacts(engine: Engine, kind: str) -> set[int]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(message.c.contact_id)
                .join(notice, notice.c.id == message.c.notice_id)
                .where(notice.c.kind == kind, message.c.status.in_(("sent", "delivered")))
            ).scalars()
        )


async def test_a_cancelled_outage_sends_nothing_more_but_tells_those_told(
    engine: Engine, half_told: tuple[int, set[int]]
) -> None:
    oid, told = half_told
    outage_lifecycle.cancel(engine, oid, actor="ana", reason="works postponed")
    before = message_states(engine)
    assert before["sent"] == 1 and set(before) == {"sent", "cancelled"}
    senders = {"sms": Recording("sms"), "email": Recording("email")}
    async with running(engine, senders):  # type: ignore[arg-type]
        await until(lambda: bool(sent_contacts(engine, "cancellation")), what="cancellation sent")
        await until(lambda: "pending" not in message_states(engine), what="nothing pending")
    assert sent_contacts(engine, "cancellation") == told
    # The engine sent the cancellation only: the first notice's pending messages stayed put.
    assert [m.channel for s in senders.values() for m in s.messages] == ["sms"]
    assert message_states(engine)["cancelled"] == before["cancelled"]


async def test_an_amendment_reaches_exactly_those_told(
    engine: Engine, half_told: tuple[int, set[int]]
) -> None:
    oid, told = half_told
    outage_lifecycle.amend(
        engine, oid, START + timedelta(hours=1), START + timedelta(hours=4), actor="ana"
    )
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    with engine.begin() as conn:
        conn.execute(
            update(notice)
            .where(notice.c.kind == "amendment")
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    senders = {"sms": Recording("sms"), "email": Recording("email")}
    async with running(engine, senders):  # type: ignore[arg-type]
        await until(lambda: bool(sent_contacts(engine, "amendment")), what="amendment sent")
        await asyncio.sleep(0.5)
    assert sent_contacts(engine, "amendment") == told
    # Nothing of the first revision's plan went out after the amendment.
    sent = [m for s in senders.values() for m in s.messages]
    assert len(sent) == len(told)
