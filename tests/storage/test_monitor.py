"""Monitor queries and levers on both backends: counts per channel and state,
throughput and backoff, retry, cancel and pause (role-checked, audited, and
changing nothing when refused), and the process list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from dispatch_tui.storage import monitor, outage_lifecycle, outbox, processes, users
from dispatch_tui.storage.models import MESSAGE_STATES
from dispatch_tui.storage.tables import (
    audit_log,
    channel_control,
    contact,
    engine_process,
    message,
    notice,
    outage,
)
from tests.engine.factory import make_outbox, message_states


@dataclass(frozen=True)
class Setup:
    """One notice on sms and e-mail; `now` is when it was made."""

    notice_id: int
    now: datetime


def add_channel(engine: Engine, notice_id: int, channel: str, count: int) -> list[int]:
    """`count` more contacts of the notice's subscribers, each with one
    pending message on `channel`; returns the message ids."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = conn.execute(
            select(message.c.contact_id, message.c.expires_at)
            .where(message.c.notice_id == notice_id)
            .order_by(message.c.id)
        ).first()
        assert first is not None
        subscriber_id = conn.execute(
            select(contact.c.subscriber_id).where(contact.c.id == first.contact_id)
        ).scalar_one()
        ids = []
        for i in range(count):
            cid = conn.execute(
                insert(contact).returning(contact.c.id),
                {
                    "subscriber_id": subscriber_id,
                    "channel": channel,
                    "address": f"{channel}{i}@example.si",
                    "consent": "opted_in",
                    "consent_at": now,
                    "consent_source": "test",
                },
            ).scalar_one()
            ids.append(
                conn.execute(
                    insert(message).returning(message.c.id),
                    {
                        "notice_id": notice_id,
                        "contact_id": cid,
                        "channel": channel,
                        "address": f"{channel}{i}@example.si",
                        "language": "sl",
                        "body": "Izklop",
                        "segments": 1,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now - timedelta(seconds=1),
                        "expires_at": first.expires_at,
                        "created_at": now,
                    },
                ).scalar_one()
            )
        channels = conn.execute(select(notice.c.channels).where(notice.c.id == notice_id))
        conn.execute(
            update(notice)
            .where(notice.c.id == notice_id)
            .values(channels=[*channels.scalar_one(), channel])
        )
    return ids


def set_states(engine: Engine, ids: list[int], **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(message).where(message.c.id.in_(ids)).values(**values))


@pytest.fixture
def setup(engine: Engine) -> Setup:
    """sms: 1-2 failed, 3 backing off 30 s, 4-5 sent just now, 6-10 pending;
    e-mail: 11 failed, 12 sent an hour ago, 13-14 pending."""
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "ana", "dispatcher", actor="root")
    users.add_operator(engine, "viktor", "viewer", actor="root")
    nid = make_outbox(engine, 10)
    mail = add_channel(engine, nid, "email", 4)
    now = datetime.now(UTC)
    set_states(engine, [1, 2], status="failed", attempts=1, last_error="400 bad number")
    set_states(
        engine,
        [3],
        status="retry_wait",
        attempts=2,
        last_error="503 busy",
        next_attempt_at=now + timedelta(seconds=30),
    )
    set_states(engine, [4, 5], status="sent", sent_at=now - timedelta(seconds=10))
    set_states(engine, mail[:1], status="failed", last_error="mailbox full")
    set_states(engine, mail[1:2], status="sent", sent_at=now - timedelta(hours=1))
    return Setup(nid, now)


def audit_rows(engine: Engine) -> list[tuple[str, str, str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                audit_log.c.actor, audit_log.c.action, audit_log.c.entity_id, audit_log.c.detail
            ).order_by(audit_log.c.id)
        )
        return [(r.actor, r.action, r.entity_id, r.detail) for r in rows]


def by_id(engine: Engine, notice_id: int) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(message.c.id, message.c.status).where(message.c.notice_id == notice_id)
        )
        return {r.id: r.status for r in rows}


def the_notice(engine: Engine, s: Setup, now: datetime | None = None) -> monitor.NoticeProgress:
    with engine.connect() as conn:
        shown = monitor.progress(conn, now=now or s.now)
    [found] = [p for p in shown if p.notice_id == s.notice_id]
    return found


def contact_of(message_id: int) -> Any:
    return select(message.c.contact_id).where(message.c.id == message_id).scalar_subquery()


# -- what is shown -------------------------------------------------------------


def test_progress_counts_per_channel_and_state(engine: Engine, setup: Setup) -> None:
    found = the_notice(engine, setup)
    assert (found.kind, found.status, found.timezone) == ("advance", "done", "Europe/Ljubljana")
    assert found.outage_title == "test" and found.outage_status == "approved"
    sms, email = found.channels
    assert sms.channel == "sms" and email.channel == "email"
    assert {s: n for s, n in sms.counts.items() if n} == {
        "failed": 2,
        "retry_wait": 1,
        "sent": 2,
        "pending": 5,
    }
    assert set(sms.counts) == set(MESSAGE_STATES)
    assert (sms.total, sms.left) == (10, 6)
    assert {s: n for s, n in email.counts.items() if n} == {"failed": 1, "sent": 1, "pending": 2}
    assert (email.total, email.left) == (4, 2)


def test_throughput_eta_and_backoff(engine: Engine, setup: Setup) -> None:
    sms, email = the_notice(engine, setup).channels
    # Two sent in the last minute: 2/60 msg/s, six left.
    assert sms.sent_last_minute == 2
    assert sms.per_second == pytest.approx(2 / 60)
    assert sms.eta_seconds == pytest.approx(6 / (2 / 60))
    assert sms.next_retry_at == setup.now + timedelta(seconds=30)
    # The e-mail sent an hour ago says nothing about the pace now.
    assert email.sent_last_minute == 0 and email.eta_seconds is None
    assert email.next_retry_at is None
    assert not sms.paused and not email.paused


def test_a_finished_channel_has_no_eta(engine: Engine, setup: Setup) -> None:
    set_states(engine, list(range(1, 11)), status="delivered", sent_at=setup.now)
    sms, _ = the_notice(engine, setup).channels
    assert sms.left == 0 and sms.sent_last_minute == 10 and sms.eta_seconds is None


def test_old_finished_notices_drop_off_but_busy_ones_stay(engine: Engine, setup: Setup) -> None:
    later = setup.now + timedelta(days=30)
    with engine.connect() as conn:
        assert [p.notice_id for p in monitor.progress(conn, now=later)] == [setup.notice_id]
    with engine.begin() as conn:
        conn.execute(
            update(message)
            .where(message.c.status.in_(monitor.LEFT_STATES))
            .values(status="expired")
        )
    with engine.connect() as conn:
        assert monitor.progress(conn, now=later) == []
        assert [p.notice_id for p in monitor.progress(conn, now=setup.now)] == [setup.notice_id]


def test_problems_with_reasons_and_next_attempt(engine: Engine, setup: Setup) -> None:
    with engine.connect() as conn:
        rows = monitor.problems(conn, setup.notice_id)
        assert monitor.problems(conn, setup.notice_id, limit=1, offset=1)[0] == rows[1]
    assert [(p.message_id, p.channel, p.status, p.attempts, p.reason) for p in rows] == [
        (1, "sms", "failed", 1, "400 bad number"),
        (2, "sms", "failed", 1, "400 bad number"),
        (11, "email", "failed", 0, "mailbox full"),
        (3, "sms", "retry_wait", 2, "503 busy"),
    ]
    assert rows[0].address == "+38640000000" and rows[2].address == "email0@example.si"
    assert [p.next_attempt_at for p in rows] == [
        None,
        None,
        None,
        setup.now + timedelta(seconds=30),
    ]


# -- levers ----------------------------------------------------------------------


def test_retry_touches_only_failed_unexpired_consenting_messages(
    engine: Engine, setup: Setup
) -> None:
    set_states(engine, [1], expires_at=setup.now - timedelta(minutes=1))
    with engine.begin() as conn:  # message 11's contact opted out after it failed
        conn.execute(
            update(contact)
            .where(
                contact.c.id
                == select(message.c.contact_id).where(message.c.id == 11).scalar_subquery()
            )
            .values(consent="opted_out")
        )
    before = by_id(engine, setup.notice_id)
    at = setup.now + timedelta(seconds=5)

    assert monitor.retry_failed(engine, setup.notice_id, actor="ana", now=at) == 1

    after = by_id(engine, setup.notice_id)
    assert {i for i in after if after[i] != before[i]} == {2}
    assert after[2] == "pending" and after[1] == "failed" and after[11] == "failed"
    with engine.connect() as conn:
        next_at = conn.execute(
            select(message.c.next_attempt_at).where(message.c.id == 2)
        ).scalar_one()
    assert next_at == at
    assert audit_rows(engine)[-1] == (
        "ana",
        "retry",
        str(setup.notice_id),
        {"channel": "all", "messages": 1},
    )
    claimed = outbox.claim_batch(engine, owner="p", channels=["sms", "email"], now=at)
    assert 2 in {m.id for m in claimed}  # due at once


def test_retry_per_channel(engine: Engine, setup: Setup) -> None:
    assert monitor.retry_failed(engine, setup.notice_id, actor="ana", channel="email") == 1
    assert by_id(engine, setup.notice_id)[11] == "pending"
    assert message_states(engine, setup.notice_id)["failed"] == 2
    assert audit_rows(engine)[-1][3] == {"channel": "email", "messages": 1}


def test_nothing_is_retried_for_a_cancelled_outage(engine: Engine, setup: Setup) -> None:
    """Such messages could never be claimed again: queuing them would only mislead."""
    with engine.begin() as conn:
        conn.execute(update(outage).values(status="cancelled"))
    assert monitor.retry_failed(engine, setup.notice_id, actor="ana") == 0
    assert message_states(engine, setup.notice_id)["failed"] == 3


def test_cancel_pending_leaves_what_is_in_flight(engine: Engine, setup: Setup) -> None:
    [taken] = outbox.claim_batch(engine, owner="p", channels=["sms"], limit=1)
    set_states(engine, [7], status="unknown")
    before = by_id(engine, setup.notice_id)

    # Four waiting ones cancelled, and one unknown one that will not be resent.
    assert monitor.cancel_pending(engine, setup.notice_id, actor="ana", channel="sms") == 5

    after = by_id(engine, setup.notice_id)
    changed = {i for i in after if after[i] != before[i]}
    assert {before[i] for i in changed} == {"pending", "retry_wait"}
    assert {after[i] for i in changed} == {"cancelled"}
    assert after[taken.id] == "sending" and after[7] == "unknown"
    assert message_states(engine, setup.notice_id)["pending"] == 2  # e-mail untouched
    assert monitor.cancel_pending(engine, setup.notice_id, actor="ana") == 2
    assert audit_rows(engine)[-2:] == [
        (
            "ana",
            "cancel_pending",
            str(setup.notice_id),
            {"channel": "sms", "messages": 4, "unknown_not_resent": 1, "in_flight": 1},
        ),
        (
            "ana",
            "cancel_pending",
            str(setup.notice_id),
            {"channel": "all", "messages": 2, "unknown_not_resent": 0, "in_flight": 0},
        ),
    ]


def test_cancel_pending_stops_resends_of_unknown_messages(engine: Engine, setup: Setup) -> None:
    at = setup.now + timedelta(seconds=1)
    wait = timedelta(minutes=15)
    claimed = outbox.claim_batch(engine, owner="p", channels=["sms"], limit=3, now=at)
    assert [m.id for m in claimed] == [6, 7, 8]
    # 6: the gateway's answer was lost; 7 and 8 are still in flight.
    lost = outbox.Result(6, "unknown", reason="timeout", next_attempt_at=at + wait)
    outbox.record_results(engine, owner="p", results=[lost], now=at)

    cancelled_at = at + timedelta(seconds=1)
    stopped = monitor.cancel_pending(
        engine, setup.notice_id, actor="ana", channel="sms", now=cancelled_at
    )

    assert stopped == 4  # 3, 9 and 10 cancelled; 6 not resent
    assert audit_rows(engine)[-1][3] == {
        "channel": "sms",
        "messages": 3,
        "unknown_not_resent": 1,
        "in_flight": 2,
    }
    # 8 goes out; 7's process dies, so its outcome is unknown too.
    outbox.record_results(engine, owner="p", results=[outbox.Result(8, "sent")], now=cancelled_at)
    later = at + timedelta(minutes=2)
    assert outbox.claim_batch(engine, owner="q", channels=["sms"], now=later) == []
    assert by_id(engine, setup.notice_id)[7] == "unknown"
    # Long after the resend wait: neither is sent again, the e-mails still go.
    much_later = at + 2 * wait
    claimed = outbox.claim_batch(engine, owner="q", channels=["sms", "email"], now=much_later)
    assert {m.channel for m in claimed} == {"email"}
    states = by_id(engine, setup.notice_id)
    assert (states[6], states[7], states[8]) == ("unknown", "unknown", "sent")

    with engine.connect() as conn:
        [found] = [
            p for p in monitor.progress(conn, now=much_later) if p.notice_id == setup.notice_id
        ]
        rows = {p.message_id: p for p in monitor.problems(conn, setup.notice_id, now=much_later)}
    sms = found.channels[0]
    assert (sms.counts["unknown"], sms.unknown_not_resent) == (2, 2)
    assert rows[6].reason == f"timeout; {monitor.NOT_RESENT}" and rows[6].next_attempt_at is None
    assert rows[7].reason.endswith(monitor.NOT_RESENT) and rows[7].next_attempt_at is None
    # A late delivery report still settles it.
    assert outbox.apply_report(engine, 6, "delivered", "1", now=much_later)
    assert by_id(engine, setup.notice_id)[6] == "delivered"


def test_unknown_messages_of_a_cancelled_outage_or_to_a_contact_who_left_are_not_resent(
    engine: Engine, setup: Setup
) -> None:
    at = setup.now + timedelta(seconds=1)
    wait = timedelta(minutes=15)
    outbox.claim_batch(engine, owner="p", channels=["sms"], limit=2, now=at)  # 6 and 7
    lost = [outbox.Result(i, "unknown", next_attempt_at=at + wait) for i in (6, 7)]
    outbox.record_results(engine, owner="p", results=lost, now=at)
    with engine.begin() as conn:
        conn.execute(
            update(contact)
            .where(
                contact.c.id
                == select(message.c.contact_id).where(message.c.id == 7).scalar_subquery()
            )
            .values(consent="opted_out")
        )
    resend_at = at + 2 * wait
    with engine.connect() as conn:
        [found] = [
            p for p in monitor.progress(conn, now=resend_at) if p.notice_id == setup.notice_id
        ]
    assert found.channels[0].unknown_not_resent == 1  # 7: opted out
    with engine.connect() as conn:
        oid = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == setup.notice_id)
        ).scalar_one()
    outage_lifecycle.cancel(engine, oid, actor="ana", reason="works postponed")

    with engine.connect() as conn:
        [found] = [
            p for p in monitor.progress(conn, now=resend_at) if p.notice_id == setup.notice_id
        ]
    assert found.channels[0].unknown_not_resent == 2
    assert outbox.claim_batch(engine, owner="q", channels=["sms"], now=resend_at) == []
    states = by_id(engine, setup.notice_id)
    assert (states[6], states[7]) == ("unknown", "unknown")


def test_pause_inserts_then_updates_and_claims_skip_the_channel(
    engine: Engine, setup: Setup
) -> None:
    with engine.connect() as conn:
        assert monitor.paused_channels(conn) == set()
    at = setup.now + timedelta(seconds=1)
    monitor.set_paused(engine, "sms", True, actor="ana", now=at)
    assert outbox.claim_batch(engine, owner="p", channels=["sms"], now=at) == []
    assert the_notice(engine, setup).channels[0].paused
    [mail] = outbox.claim_batch(engine, owner="p", channels=["sms", "email"], limit=1, now=at)
    assert mail.channel == "email"

    monitor.set_paused(engine, "sms", False, actor="root", now=at)
    with engine.connect() as conn:
        assert monitor.paused_channels(conn) == set()
        rows = conn.execute(select(channel_control)).all()
    assert [(r.channel, r.paused, r.changed_by) for r in rows] == [("sms", False, "root")]
    assert len(outbox.claim_batch(engine, owner="p", channels=["sms"], now=at)) == 5

    monitor.set_paused(engine, "sms", True, actor="ana", now=at)
    with engine.connect() as conn:
        assert monitor.paused_channels(conn) == {"sms"}
    assert [(a, act, e) for a, act, e, _ in audit_rows(engine)[-3:]] == [
        ("ana", "pause", "sms"),
        ("root", "resume", "sms"),
        ("ana", "pause", "sms"),
    ]


def test_refusals_change_nothing(engine: Engine, setup: Setup) -> None:
    before = by_id(engine, setup.notice_id), audit_rows(engine)
    with pytest.raises(monitor.MonitorError, match="viewer"):
        monitor.retry_failed(engine, setup.notice_id, actor="viktor")
    with pytest.raises(monitor.MonitorError, match="viewer"):
        monitor.cancel_pending(engine, setup.notice_id, actor="viktor")
    with pytest.raises(monitor.MonitorError, match="viewer"):
        monitor.set_paused(engine, "sms", True, actor="viktor")
    with pytest.raises(monitor.MonitorError, match="not a dispatch-tui user"):
        monitor.cancel_pending(engine, setup.notice_id, actor="mallory")
    with pytest.raises(monitor.MonitorError, match="unknown channel 'fax'"):
        monitor.set_paused(engine, "fax", True, actor="ana")
    with pytest.raises(monitor.MonitorError, match="unknown channel"):
        monitor.retry_failed(engine, setup.notice_id, actor="ana", channel="fax")
    assert (by_id(engine, setup.notice_id), audit_rows(engine)) == before
    with engine.connect() as conn:
        assert conn.execute(select(channel_control)).all() == []


# -- processes -------------------------------------------------------------------


def test_processes_show_leases_and_liveness(engine: Engine, setup: Setup) -> None:
    now = setup.now
    processes.register(engine, "engine@a", "engine", now=now - timedelta(minutes=5))
    processes.register(engine, "app@b", "app", now=now - timedelta(seconds=20))
    processes.register(engine, "engine@old", "engine", now=now - timedelta(days=3))
    processes.heartbeat(engine, "app@b", now=now)
    outbox.claim_batch(engine, owner="engine@a", channels=["sms"], limit=3, now=now)
    with engine.begin() as conn:
        conn.execute(
            update(notice).values(status="fanning_out", lease_owner="app@b", lease_until=now)
        )
    with engine.connect() as conn:
        rows = {p.id: p for p in processes.list_processes(conn, now=now)}
    assert set(rows) == {"engine@a", "app@b"}  # three days quiet and holding nothing
    a, b = rows["engine@a"], rows["app@b"]
    assert (a.messages_held, a.notices_held, a.alive) == (3, 0, False)
    assert (b.messages_held, b.notices_held, b.alive) == (0, 1, True)
    assert b.heartbeat_at == now and b.started_at == now - timedelta(seconds=20)
    assert a.kind == "engine" and a.pid > 0 and a.host

    processes.stopped(engine, "app@b", now=now)
    outbox.claim_batch(engine, owner="engine@old", channels=["email"], limit=1, now=now)
    with engine.connect() as conn:
        rows = {p.id: p for p in processes.list_processes(conn, now=now)}
    assert not rows["app@b"].alive and rows["app@b"].stopped_at == now
    assert rows["engine@old"].messages_held == 1 and not rows["engine@old"].alive
    assert processes.new_process_id("app").startswith("app@")


def test_processes_stopped_over_a_day_ago_are_hidden_and_pruned(
    engine: Engine, setup: Setup
) -> None:
    """Every start of the app registers a process; yesterday's runs neither show nor stay.
    One that still holds a lease stays, whatever its age."""
    now = setup.now
    for name, age in (("app@yesterday", timedelta(days=2)), ("app@noon", timedelta(hours=3))):
        processes.register(engine, name, "app", now=now - age - timedelta(minutes=5))
        processes.stopped(engine, name, now=now - age)
    processes.register(engine, "engine@holder", "engine", now=now - timedelta(days=3))
    outbox.claim_batch(engine, owner="engine@holder", channels=["sms"], limit=1, now=now)
    processes.stopped(engine, "engine@holder", now=now - timedelta(days=2))
    with engine.connect() as conn:
        shown = [p.id for p in processes.list_processes(conn, now=now)]
    assert shown == ["app@noon", "engine@holder"]

    processes.register(engine, "app@now", "app", now=now)
    with engine.connect() as conn:
        kept = set(conn.scalars(select(engine_process.c.id)))
        shown = [p.id for p in processes.list_processes(conn, now=now)]
    assert kept == {"app@now", "app@noon", "engine@holder"}
    assert shown[0] == "app@now"  # the living first


def test_the_send_rate_counts_each_of_the_last_minutes(engine: Engine, setup: Setup) -> None:
    set_states(engine, [1, 2], status="sent", sent_at=setup.now - timedelta(seconds=30))
    set_states(engine, [3], status="sent", sent_at=setup.now - timedelta(minutes=10, seconds=1))
    with engine.connect() as conn:
        rate = monitor.send_rate(monitor.progress(conn, now=setup.now))
    assert len(rate) == monitor.RATE_MINUTES
    assert rate[-1] == 4 and rate[-11] == 1 and sum(rate) == 5  # 4 and 5 sent 10 s ago
