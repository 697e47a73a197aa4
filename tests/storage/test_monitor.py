"""Monitor queries and levers on both backends: counts, backoff, retry,
cancel, pause (role-checked and audited), and the process list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from dispatch_tui.storage import monitor, outbox, processes, users
from dispatch_tui.storage.tables import audit_log, message
from tests.engine.factory import make_outbox, message_states


@pytest.fixture
def notice_id(engine: Engine) -> int:
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "ana", "dispatcher", actor="root")
    users.add_operator(engine, "viktor", "viewer", actor="root")
    nid = make_outbox(engine, 10)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            update(message).where(message.c.id <= 2).values(status="failed", last_error="400")
        )
        conn.execute(
            update(message)
            .where(message.c.id == 3)
            .values(status="retry_wait", next_attempt_at=now + timedelta(seconds=30))
        )
        conn.execute(
            update(message).where(message.c.id.between(4, 5)).values(status="sent", sent_at=now)
        )
    return nid


def audited(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def test_progress_counts_throughput_and_backoff(engine: Engine, notice_id: int) -> None:
    with engine.connect() as conn:
        [notice] = [p for p in monitor.progress(conn) if p.notice_id == notice_id]
        problems = monitor.problems(conn, notice_id)
    [sms] = notice.channels
    assert sms.counts["failed"] == 2 and sms.counts["retry_wait"] == 1
    assert sms.counts["sent"] == 2 and sms.counts["pending"] == 5
    assert sms.total == 10 and sms.left == 6 and sms.sent_last_minute == 2
    assert sms.eta_seconds == pytest.approx(6 / (2 / 60))
    assert sms.next_retry_at is not None and sms.next_retry_at > datetime.now(UTC)
    assert [(p.message_id, p.status) for p in problems] == [
        (1, "failed"),
        (2, "failed"),
        (3, "retry_wait"),
    ]


def test_retry_cancel_and_pause_are_audited(engine: Engine, notice_id: int) -> None:
    assert monitor.retry_failed(engine, notice_id, actor="ana") == 2
    assert message_states(engine, notice_id)["pending"] == 7
    [m] = outbox.claim_batch(engine, owner="p", channels=["sms"], limit=1)
    assert monitor.cancel_pending(engine, notice_id, actor="ana") == 7
    assert message_states(engine, notice_id) == {"cancelled": 7, "sending": 1, "sent": 2}
    monitor.set_paused(engine, "sms", True, actor="ana")
    monitor.set_paused(engine, "sms", False, actor="ana")
    monitor.set_paused(engine, "sms", True, actor="ana")
    with engine.connect() as conn:
        assert monitor.paused_channels(conn) == {"sms"}
    assert audited(engine)[-5:] == ["retry", "cancel_pending", "pause", "resume", "pause"]
    assert m.id


def test_a_viewer_and_bad_channels_change_nothing(engine: Engine, notice_id: int) -> None:
    before = message_states(engine, notice_id), audited(engine)
    with pytest.raises(monitor.MonitorError, match="viewer"):
        monitor.retry_failed(engine, notice_id, actor="viktor")
    with pytest.raises(monitor.MonitorError, match="viewer"):
        monitor.set_paused(engine, "sms", True, actor="viktor")
    with pytest.raises(monitor.MonitorError, match="not a dispatch-tui user"):
        monitor.cancel_pending(engine, notice_id, actor="mallory")
    with pytest.raises(monitor.MonitorError, match="unknown channel"):
        monitor.set_paused(engine, "fax", True, actor="ana")
    assert (message_states(engine, notice_id), audited(engine)) == before


def test_processes_show_leases_and_liveness(engine: Engine, notice_id: int) -> None:
    now = datetime.now(UTC)
    processes.register(engine, "engine@a", "engine", now=now - timedelta(minutes=5))
    processes.register(engine, "app@b", "app", now=now)
    outbox.claim_batch(engine, owner="engine@a", channels=["sms"], limit=3, now=now)
    with engine.connect() as conn:
        rows = {p.id: p for p in processes.list_processes(conn, now=now)}
    assert rows["engine@a"].messages_held == 3 and not rows["engine@a"].alive
    assert rows["app@b"].alive and rows["app@b"].messages_held == 0
    processes.stopped(engine, "app@b", now=now)
    with engine.connect() as conn:
        rows = {p.id: p for p in processes.list_processes(conn, now=now)}
    assert not rows["app@b"].alive and rows["app@b"].stopped_at is not None
