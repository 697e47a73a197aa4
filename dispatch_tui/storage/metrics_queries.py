"""The numbers an observer reads from the database: what the metrics endpoint
serves and what the engine's log says about a notice it sent.

Read in one transaction at one moment (`read`), so the figures of one scrape agree
with each other and with the tables. The counts per state use the claim
index (status, channel, …), the report lag the last 15 minutes' deliveries
(`ix_message_delivered`): bench `metrics` scrapes a million messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Float, cast, func, select

from dispatch_tui.storage.monitor import paused_channels
from dispatch_tui.storage.processes import ProcessRow, list_processes
from dispatch_tui.storage.tables import inbound_message, message, notice

UNSENT_STATES = ("pending", "retry_wait", "sending")
"""Not yet accepted by a gateway: the backlog whose oldest member is "how far behind"."""
FAILURE_STATES = ("failed", "retry_wait")
ACCEPTED_STATES = ("sent", "delivered")
REPORT_WINDOW = timedelta(minutes=15)
REASON_LENGTH = 60
REASONS_PER_CHANNEL = 10
"""Distinct failure reasons kept per channel and state; the rest are counted as "other",
so one gateway's chatty error texts cannot make thousands of series."""

_NUMBER = re.compile(r"\d+")


def reason_class(reason: str | None) -> str:
    """A failure reason as a label: digits as N (ports, ids, counts), one line, bounded."""
    text = " ".join((reason or "none given").split())
    return _NUMBER.sub("N", text)[:REASON_LENGTH]


@dataclass(frozen=True)
class ReportLag:
    """Delivery reports received lately and how long after the send they came."""

    count: int
    total_seconds: float
    longest_seconds: float


@dataclass(frozen=True)
class MetricsSnapshot:
    now: datetime
    messages: dict[tuple[str, str], int]
    """(channel, state) → messages."""
    sent_total: dict[str, int]
    """Messages a gateway accepted, by channel (those with a send time)."""
    failures: dict[tuple[str, str, str], int]
    """(channel, state failed|retry_wait, reason class) → messages."""
    oldest_unsent: dict[str, datetime]
    """Channel → creation time of its oldest message not yet accepted by a gateway."""
    report_lag: dict[str, ReportLag]
    """Channel → delivery reports of the last `REPORT_WINDOW`."""
    paused: set[str]
    processes: list[ProcessRow]
    notices: dict[str, int]
    inbound: dict[str, int] = field(default_factory=dict)


def _seconds(conn: Connection, start: ColumnElement[datetime], end: ColumnElement[datetime]) -> Any:
    if conn.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return cast(func.extract("epoch", end - start), Float)


def read(db: Engine, *, now: datetime | None = None) -> MetricsSnapshot:
    """`snapshot` in one transaction that sees one moment: SQLite's deferred BEGIN keeps the
    first read's view; PostgreSQL needs REPEATABLE READ for that (READ COMMITTED would
    give each query its own)."""
    with db.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        return snapshot(conn, now=now)


def snapshot(conn: Connection, *, now: datetime | None = None) -> MetricsSnapshot:
    now = now or datetime.now(UTC)
    messages = {
        (channel, state): count
        for channel, state, count in conn.execute(
            select(message.c.channel, message.c.status, func.count()).group_by(
                message.c.channel, message.c.status
            )
        )
    }
    # Every message with a send time is sent or delivered, or failed by a later report:
    # the counts by state and the failed ones (few, by the claim index) say it exactly.
    sent_total: dict[str, int] = {}
    for (channel, state), count in messages.items():
        if state in ACCEPTED_STATES:
            sent_total[channel] = sent_total.get(channel, 0) + count
    for channel, count in conn.execute(
        select(message.c.channel, func.count())
        .where(message.c.status == "failed", message.c.sent_at.is_not(None))
        .group_by(message.c.channel)
    ):
        sent_total[channel] = sent_total.get(channel, 0) + count
    failures: dict[tuple[str, str, str], int] = {}
    rows = conn.execute(
        select(message.c.channel, message.c.status, message.c.last_error, func.count())
        .where(message.c.status.in_(FAILURE_STATES))
        .group_by(message.c.channel, message.c.status, message.c.last_error)
    ).all()
    for channel, state, reason, count in rows:
        key = (channel, state, reason_class(reason))
        failures[key] = failures.get(key, 0) + count
    oldest = {
        channel: at
        for channel, at in conn.execute(
            select(message.c.channel, func.min(message.c.created_at))
            .where(message.c.status.in_(UNSENT_STATES))
            .group_by(message.c.channel)
        )
        if at is not None
    }
    lag_seconds = _seconds(conn, message.c.sent_at, message.c.delivered_at)
    lag = {
        channel: ReportLag(count, float(total or 0.0), float(longest or 0.0))
        for channel, count, total, longest in conn.execute(
            select(message.c.channel, func.count(), func.sum(lag_seconds), func.max(lag_seconds))
            .where(
                message.c.delivered_at.is_not(None),
                message.c.delivered_at >= now - REPORT_WINDOW,
                message.c.sent_at.is_not(None),
            )
            .group_by(message.c.channel)
        )
    }
    notices: dict[str, int] = dict(
        conn.execute(select(notice.c.status, func.count()).group_by(notice.c.status)).all()
    )
    inbound: dict[str, int] = dict(
        conn.execute(
            select(inbound_message.c.channel, func.count()).group_by(inbound_message.c.channel)
        ).all()
    )
    return MetricsSnapshot(
        now=now,
        messages=messages,
        sent_total=sent_total,
        failures=_bounded(failures),
        oldest_unsent=oldest,
        report_lag=lag,
        paused=paused_channels(conn),
        processes=list_processes(conn, now=now),
        notices=notices,
        inbound=inbound,
    )


def _bounded(failures: dict[tuple[str, str, str], int]) -> dict[tuple[str, str, str], int]:
    """The `REASONS_PER_CHANNEL` commonest reasons per channel and state; the rest as other."""
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for (channel, state, reason), count in failures.items():
        groups.setdefault((channel, state), []).append((count, reason))
    kept: dict[tuple[str, str, str], int] = {}
    for (channel, state), reasons in groups.items():
        reasons.sort(key=lambda item: (-item[0], item[1]))
        for count, reason in reasons[:REASONS_PER_CHANNEL]:
            kept[channel, state, reason] = count
        rest = sum(count for count, _ in reasons[REASONS_PER_CHANNEL:])
        if rest:
            kept[channel, state, "other"] = rest
    return kept


def notice_counts(conn: Connection, notice_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Messages of each notice by state (the engine's "sending finished" line)."""
    ids = list(notice_ids)
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return counts
    for notice_id, state, count in conn.execute(
        select(message.c.notice_id, message.c.status, func.count())
        .where(message.c.notice_id.in_(ids))
        .group_by(message.c.notice_id, message.c.status)
    ):
        counts[notice_id][state] = count
    return counts
