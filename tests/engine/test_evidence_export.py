"""Delivery evidence of an outage sent through the real engine with a sandbox gateway
that retries some messages, refuses one and reports deliveries (some failed): the export
matches the message and delivery_event tables row for row, shows no address whole, and
is recorded in the audit log."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.domain.masking import mask_address
from dispatch_tui.senders.base import OutgoingMessage, SendOutcome
from dispatch_tui.senders.sandbox import SandboxSender
from dispatch_tui.storage import outbox, users
from dispatch_tui.storage.evidence import CSV_COLUMNS, EvidenceError, export_evidence
from dispatch_tui.storage.tables import audit_log, delivery_event, message, notice
from tests.engine.conftest import running, until
from tests.engine.factory import make_outbox, message_states

COUNT = 30


class Scripted(SandboxSender):
    """The sandbox, but every tenth message is refused for good and the one after it is
    first answered "busy" (retried); reports come back through the outbox as the engine's
    own sandbox reports do."""

    def __init__(self, db: Engine) -> None:
        super().__init__(
            "sms", seed=7, on_report=self.apply_report, report_delay=0.01, report_failure_rate=0.25
        )
        self.db = db
        self.seen: set[int] = set()

    async def apply_report(self, message_id: int, status: str) -> None:
        await asyncio.to_thread(outbox.apply_report, self.db, message_id, status, "sandbox")

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        first = message.id not in self.seen
        self.seen.add(message.id)
        if message.id % 10 == 0:
            return SendOutcome.permanent(f"number {message.address} refused by the operator")
        if message.id % 10 == 1 and first:
            return SendOutcome.transient("503 gateway busy")
        return await super().send(message)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_export_matches_the_tables_row_for_row(engine: Engine) -> None:
    notice_id = make_outbox(engine, COUNT)
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "viktor", "viewer", actor="root")
    sender = Scripted(engine)

    def settled() -> bool:
        states = message_states(engine, notice_id)
        return sum(states.values()) == COUNT and set(states) <= {"delivered", "failed"}

    async with running(engine, {"sms": sender}):
        await until(settled, what="every message delivered or failed")
        await until(lambda: sender.pending_reports == 0, what="reports in")

    with engine.connect() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == notice_id)
        ).scalar_one()
        messages = {r.id: r for r in conn.execute(select(message))}
        events = conn.execute(
            select(delivery_event).order_by(
                delivery_event.c.message_id, delivery_event.c.at, delivery_event.c.id
            )
        ).all()
    out = io.StringIO()
    summary = export_evidence(engine, outage_id, out, actor="viktor")
    text = out.getvalue()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS

    # What the script made happen is all there: retries, a refusal, both kinds of report.
    seen = Counter((e.status, e.detail.startswith("report ")) for e in events)
    assert seen["retry_wait", False] and seen["failed", False] and seen["sent", False]
    assert seen["delivered", True] and seen["failed", True]

    assert len(rows) == len(events) == summary.rows
    numbers: Counter[int] = Counter()
    for row, event in zip(rows, events, strict=True):
        m = messages[event.message_id]
        numbers[m.id] += 1
        masked = mask_address("sms", m.address)
        assert row["message"] == str(m.id) and row["notice"] == str(notice_id)
        assert row["outage"] == str(outage_id) and row["notice_kind"] == "advance"
        assert (row["channel"], row["address"], row["language"]) == ("sms", masked, "sl")
        assert row["event_no"] == str(numbers[m.id])
        assert row["event_at_utc"] == event.at.strftime("%Y-%m-%d %H:%M:%S")
        assert row["event"] == event.status
        assert row["detail"] == event.detail.replace(m.address, masked)
        assert row["report"] == ("yes" if event.detail.startswith("report ") else "no")
        assert (row["final_state"], row["attempts"]) == (m.status, str(m.attempts))
        sent = m.sent_at.strftime("%Y-%m-%d %H:%M:%S") if m.sent_at else ""
        delivered = m.delivered_at.strftime("%Y-%m-%d %H:%M:%S") if m.delivered_at else ""
        assert (row["sent_at_utc"], row["delivered_at_utc"]) == (sent, delivered)
    assert set(numbers) == set(messages), "every message has its rows"
    assert not any(m.address in text for m in messages.values()), "no address whole"
    assert any("refused by the operator" in row["detail"] for row in rows)

    states = Counter(m.status for m in messages.values())
    assert summary.messages == COUNT
    assert dict(summary.states) == {("sms", s): n for s, n in states.items()}
    assert summary.delivered_in_time["sms"] == states["delivered"], "the outage is days away"
    assert summary.first_sent == min(m.sent_at for m in messages.values() if m.sent_at)
    assert "delivered before the outage start" in summary.text()

    with engine.connect() as conn:
        record = conn.execute(
            select(audit_log).where(audit_log.c.action == "export_evidence")
        ).one()
    assert (record.actor, record.entity_id) == ("viktor", str(outage_id))
    assert record.detail == {"rows": len(rows), "messages": COUNT, "to": "standard output"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_only_operators_may_export(engine: Engine) -> None:
    notice_id = make_outbox(engine, 2)
    with engine.connect() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == notice_id)
        ).scalar_one()
    out = io.StringIO()
    with pytest.raises(EvidenceError, match="'mallory' is not a dispatch-tui user"):
        export_evidence(engine, outage_id, out, actor="mallory")
    assert out.getvalue() == ""
    with engine.connect() as conn:
        assert not conn.execute(
            select(audit_log).where(audit_log.c.action == "export_evidence")
        ).first()
