"""The reminders benchmark (issue 14): a payment-reminder campaign of 30,000
overdue accounts on the large demo, from approval to all messages built,
beside the same rows inserted by one raw INSERT … SELECT in the same run.

The demo has no balances or service consent: a scratch copy gets a generated
snapshot (the 30,000 accounts with the most consenting contacts of the
largest utility, overdue by 20-60 days, plus as many that are not overdue)
and a payment-reminder opt-in for every consenting contact of those accounts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from bench.delivery import _scratch_copy
from dispatch_tui.domain.campaign import CampaignDraft
from dispatch_tui.storage import campaign_fanout, campaigns
from dispatch_tui.storage.tables import balance_snapshot, campaign, message, subscriber, utility

Result = dict[str, Any]
ACCOUNTS = 30_000
GOAL_RATIO = 3.0


def _snapshot(engine: Engine, accounts: int, now: datetime) -> tuple[int, int]:
    """A snapshot of the largest utility: `accounts` overdue and as many not; its
    utility and id. Consent to payment reminders for their consenting contacts."""
    today = now.date()
    with engine.begin() as conn:
        uid = conn.execute(
            select(subscriber.c.utility_id)
            .group_by(subscriber.c.utility_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        sid = conn.execute(
            insert(balance_snapshot).returning(balance_snapshot.c.id),
            {
                "utility_id": uid,
                "as_of": now - timedelta(hours=1),
                "imported_at": now,
                "imported_by": "bench",
                "source": "bench-balances.csv",
                "rows": 2 * accounts,
            },
        ).scalar_one()
        # The first 2 × `accounts` subscribers with a consenting contact: every
        # other one overdue by 30 days, the rest due in 10.
        conn.execute(
            text(
                "INSERT INTO balance (snapshot_id, subscriber_id, amount_minor, currency, "
                "due_date, last_payment_date) "
                "SELECT :sid, id, 1000 + id % 9000, 'BGN', "
                "CASE WHEN rn % 2 = 0 THEN :overdue ELSE :fresh END, NULL "
                "FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM subscriber "
                "      WHERE utility_id = :uid AND EXISTS (SELECT 1 FROM contact c "
                "      WHERE c.subscriber_id = subscriber.id AND c.consent = 'opted_in') "
                "      ORDER BY id LIMIT :n) AS chosen"
            ),
            {
                "sid": sid,
                "uid": uid,
                "n": 2 * accounts,
                "overdue": today - timedelta(days=30),
                "fresh": today + timedelta(days=10),
            },
        )
        conn.execute(
            text(
                "INSERT INTO contact_service (contact_id, service, consent, consent_at, "
                "consent_source) "
                "SELECT c.id, 'payment_reminder', 'opted_in', :now, 'bench' "
                "FROM balance b JOIN contact c ON c.subscriber_id = b.subscriber_id "
                "WHERE b.snapshot_id = :sid AND c.consent = 'opted_in' "
                # The demo already opted some contacts in (or out) of the services.
                "AND NOT EXISTS (SELECT 1 FROM contact_service s "
                "WHERE s.contact_id = c.id AND s.service = 'payment_reminder')"
            ),
            {"sid": sid, "now": now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now},
        )
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE balance; ANALYZE contact_service"))
    return int(uid), int(sid)


def _raw(engine: Engine, uid: int, sid: int, now: datetime) -> float:
    """The baseline: the same recipients' rows by one INSERT … SELECT (one fixed text),
    into a campaign of its own."""
    with engine.begin() as conn:
        cid = conn.execute(
            insert(campaign).returning(campaign.c.id),
            {
                "utility_id": uid,
                "kind": "payment_reminder",
                "min_days_overdue": 10,
                "snapshot_id": sid,
                "channels": ["sms", "email", "telegram", "viber"],
                "due_at": now,
                "status": "sending",
                "created_by": "ana",
                "created_at": now,
                "approved_by": "bohdan",
                "approved_at": now,
            },
        ).scalar_one()
    stamp: Any = now.replace(tzinfo=None) if engine.dialect.name == "sqlite" else now
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO message (campaign_id, contact_id, channel, address, language, "
                "sender, subject, body, segments, status, attempts, next_attempt_at, "
                "expires_at, created_at) "
                "SELECT :cid, c.id, c.channel, c.address, s.language, 'bench', NULL, "
                "'Reminder: the payment for account ' || s.account || ' is overdue.', 1, "
                "'pending', 0, :now, :now, :now "
                "FROM balance b JOIN subscriber s ON s.id = b.subscriber_id "
                "JOIN contact c ON c.subscriber_id = s.id "
                "JOIN contact_service cs ON cs.contact_id = c.id "
                "AND cs.service = 'payment_reminder' "
                "WHERE b.snapshot_id = :sid AND b.amount_minor > 0 AND b.due_date <= :cutoff "
                "AND cs.consent = 'opted_in' AND c.consent <> 'opted_out' AND c.proven"
            ),
            {"cid": cid, "now": stamp, "sid": sid, "cutoff": now.date() - timedelta(days=10)},
        )
    return time.perf_counter() - start


def reminders_bench(
    large: Callable[[], Path | str], backend: str = "sqlite", accounts: int = ACCOUNTS
) -> Iterator[Result]:
    with _scratch_copy(backend, large) as engine:
        now = datetime.now(UTC)
        uid, sid = _snapshot(engine, accounts, now)
        with engine.connect() as conn:
            code = conn.execute(select(utility.c.code).where(utility.c.id == uid)).scalar_one()
        cid = campaigns.create_draft(
            engine,
            CampaignDraft(
                utility_id=uid,
                kind="payment_reminder",
                channels=("sms", "email", "telegram", "viber"),
                due_at=now,
                min_days_overdue=10,
            ),
            actor="ana",
        )
        campaigns.submit(engine, cid, actor="ana")
        start = time.perf_counter()
        campaigns.approve(engine, cid, actor="bohdan")
        built = campaign_fanout.run_due(engine, owner="bench", now=datetime.now(UTC))
        seconds = time.perf_counter() - start
        raw = _raw(engine, uid, sid, now)
        with engine.connect() as conn:
            raw_rows = conn.execute(
                select(func.count()).where(
                    message.c.campaign_id.is_not(None), message.c.campaign_id != cid
                )
            ).scalar_one()
    messages = built[0].messages if built else 0
    ratio = seconds / raw if raw else float("inf")
    yield {
        "benchmark": "reminders",
        "database": backend,
        "utility": code,
        "overdue_accounts": accounts,
        "messages": messages,
        "seconds": round(seconds, 2),
        "raw_insert_select_seconds": round(raw, 2),
        "raw_rows": raw_rows,
        "ratio_to_raw": round(ratio, 2),
        "goal_ratio_to_raw": GOAL_RATIO,
        "ok": messages == raw_rows and ratio <= GOAL_RATIO,
    }
