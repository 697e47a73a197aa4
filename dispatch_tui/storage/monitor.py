"""What the monitor screen shows and the operator's levers on delivery.

Progress is counted per notice and channel in one GROUP BY over the
outbox (index `ix_message_notice_channel_status`); throughput is what was
sent in the last minute, and the estimated finish divides what is left by
it. Retry, cancel and pause are decisions: role-checked and audited in the
same transaction as the change.

Cancelling stops resends too. An `unknown` message (the gateway may have
taken it) stays unknown, since a late delivery report may still settle it
and its contact may have been told, but it is never sent again once its
notice may no longer send (the claim checks `sendable_notice_ids`), its
contact left, or its deadline passed; "cancel pending" moves the deadline of
the notice's unknown and in-flight messages to the moment of cancelling.
The monitor counts such messages per notice and channel
(`ChannelProgress.unknown_not_resent`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit, campaigns
from dispatch_tui.storage.db import db_value, insert_rows, write_transaction
from dispatch_tui.storage.models import CHANNELS, MESSAGE_STATES
from dispatch_tui.storage.outages import sendable_notice_ids
from dispatch_tui.storage.outbox import WAITING_STATES, not_resent, paused_channels_query
from dispatch_tui.storage.processes import served_channels
from dispatch_tui.storage.tables import (
    channel_control,
    contact,
    delivery_event,
    message,
    notice,
    outage,
    utility,
)
from dispatch_tui.storage.users import refusal_for

LEFT_STATES = ("pending", "sending", "retry_wait")
"""States that still need work; the estimated finish is about these."""

RATE_MINUTES = 30
"""How far back the send rate goes: messages sent in each of the last minutes."""

PROBLEM_STATES = ("failed", "retry_wait", "unknown")
NOT_RESENT = "will not be resent"


class MonitorError(Exception):
    """An operator's request on delivery was refused; `str()` says why."""


@dataclass(frozen=True)
class ChannelProgress:
    channel: str
    counts: dict[str, int]
    sent_last_minute: int
    paused: bool
    next_retry_at: datetime | None
    unknown_not_resent: int = 0
    """Of the `unknown` ones, those no claim will send again (cancelled,
    opted out, or past their deadline): only a late report can settle them."""
    sent_per_minute: tuple[int, ...] = ()
    """Messages sent in each of the last `RATE_MINUTES` minutes, oldest first."""
    no_sender: bool = False
    """No living process has a sender for this channel (a bot without a token): its
    messages wait for one and are not in flight."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def left(self) -> int:
        return sum(self.counts.get(s, 0) for s in LEFT_STATES)

    @property
    def in_flight(self) -> int:
        """What is left that some process will send (none without a sender)."""
        return 0 if self.no_sender else self.left

    @property
    def per_second(self) -> float:
        return self.sent_last_minute / 60.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds to finish at the last minute's pace; None when stalled or done."""
        if not self.in_flight or not self.sent_last_minute:
            return None
        return self.in_flight / self.per_second


@dataclass(frozen=True)
class NoticeProgress:
    notice_id: int
    outage_id: int
    outage_title: str
    outage_status: str
    timezone: str
    kind: str
    due_at: datetime
    status: str
    channels: list[ChannelProgress] = field(default_factory=list)
    outage_revision: int = 1

    @property
    def unknown(self) -> int:
        """Messages whose outcome nobody learned (they may have reached the person)."""
        return sum(c.counts.get("unknown", 0) for c in self.channels)

    @property
    def unknown_not_resent(self) -> int:
        """Of those, the ones no claim will send again (past or too near their deadline,
        cancelled, opted out)."""
        return sum(c.unknown_not_resent for c in self.channels)


def send_rate(notices: list[NoticeProgress]) -> list[int]:
    """Messages sent per minute over the last `RATE_MINUTES`, oldest first, all notices."""
    rate = [0] * RATE_MINUTES
    for notice_progress in notices:
        for channel in notice_progress.channels:
            for minute, sent in enumerate(channel.sent_per_minute):
                rate[minute] += sent
    return rate


def progress(
    conn: Connection,
    *,
    now: datetime | None = None,
    window: timedelta = timedelta(days=2),
    limit: int = 100,
) -> list[NoticeProgress]:
    """Notices due within `window` either side of now, or still with work
    left, newest first, with their per-channel counts."""
    now = now or datetime.now(UTC)
    busy = select(message.c.notice_id).where(message.c.status.in_(LEFT_STATES)).distinct()
    rows = conn.execute(
        select(
            notice.c.id,
            notice.c.outage_id,
            outage.c.title,
            outage.c.status.label("outage_status"),
            utility.c.timezone,
            notice.c.kind,
            notice.c.due_at,
            notice.c.status,
            notice.c.channels,
            notice.c.outage_revision,
        )
        .join(outage, outage.c.id == notice.c.outage_id)
        .join(utility, utility.c.id == outage.c.utility_id)
        .where(
            notice.c.status != "cancelled",
            (notice.c.due_at.between(now - window, now + window)) | notice.c.id.in_(busy),
        )
        .order_by(notice.c.due_at.desc(), notice.c.id.desc())
        .limit(limit)
    ).all()
    ids = [r.id for r in rows]
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    recent: dict[tuple[int, str], int] = {}
    per_minute: dict[tuple[int, str], tuple[int, ...]] = {}
    retry_at: dict[tuple[int, str], datetime] = {}
    stopped: dict[tuple[int, str], int] = {}
    paused = set(conn.scalars(paused_channels_query()))
    served = served_channels(conn, now=now)
    if ids:
        for notice_id, channel, status, count in conn.execute(
            select(message.c.notice_id, message.c.channel, message.c.status, func.count())
            .where(message.c.notice_id.in_(ids))
            .group_by(message.c.notice_id, message.c.channel, message.c.status)
        ):
            counts[notice_id, channel][status] = count
        # One pass over what was sent lately: the last minute's pace and the per-minute rate.
        start = now - timedelta(minutes=RATE_MINUTES)
        minutes = [
            func.count().filter(
                message.c.sent_at >= start + timedelta(minutes=i),
                message.c.sent_at < start + timedelta(minutes=i + 1),
            )
            for i in range(RATE_MINUTES)
        ]
        for notice_id, channel, count, *rate in conn.execute(
            select(
                message.c.notice_id,
                message.c.channel,
                func.count().filter(message.c.sent_at >= now - timedelta(minutes=1)),
                *minutes,
            )
            .where(message.c.notice_id.in_(ids), message.c.sent_at >= start)
            .group_by(message.c.notice_id, message.c.channel)
        ):
            recent[notice_id, channel] = count
            per_minute[notice_id, channel] = tuple(rate)
        for notice_id, channel, at in conn.execute(
            select(message.c.notice_id, message.c.channel, func.min(message.c.next_attempt_at))
            .where(message.c.notice_id.in_(ids), message.c.status == "retry_wait")
            .group_by(message.c.notice_id, message.c.channel)
        ):
            retry_at[notice_id, channel] = _aware(at)
        for notice_id, channel, count in conn.execute(
            select(message.c.notice_id, message.c.channel, func.count())
            .where(message.c.notice_id.in_(ids), message.c.status == "unknown", not_resent(now))
            .group_by(message.c.notice_id, message.c.channel)
        ):
            stopped[notice_id, channel] = count
    result = []
    for r in rows:
        channels = [
            ChannelProgress(
                channel,
                {s: counts[r.id, channel].get(s, 0) for s in MESSAGE_STATES},
                recent.get((r.id, channel), 0),
                channel in paused,
                retry_at.get((r.id, channel)),
                stopped.get((r.id, channel), 0),
                per_minute.get((r.id, channel), ()),
                served is not None and channel not in served,
            )
            for channel in r.channels
        ]
        result.append(
            NoticeProgress(
                r.id,
                r.outage_id,
                r.title,
                r.outage_status,
                r.timezone,
                r.kind,
                r.due_at,
                r.status,
                channels,
                r.outage_revision,
            )
        )
    return result


@dataclass(frozen=True)
class CampaignProgress:
    """A campaign beside the notices: its messages by channel and state."""

    campaign_id: int
    title: str
    timezone: str
    due_at: datetime
    status: str
    channels: list[ChannelProgress] = field(default_factory=list)

    @property
    def left(self) -> int:
        return sum(c.in_flight for c in self.channels)

    @property
    def unknown(self) -> int:
        return sum(c.counts.get("unknown", 0) for c in self.channels)


def campaign_progress(
    conn: Connection,
    *,
    now: datetime | None = None,
    window: timedelta = timedelta(days=2),
    limit: int = 20,
) -> list[CampaignProgress]:
    """Approved campaigns due within `window` either side of now, or still sending,
    newest first, with their per-channel counts (index `ix_message_campaign_contact`)."""
    now = now or datetime.now(UTC)
    rows = campaigns.list_campaigns(conn, limit=limit * 5)
    shown = [
        r
        for r in rows
        if r.status in ("approved", "sending", "done", "cancelled")
        and (r.status == "sending" or abs(r.due_at - now) <= window)
    ][:limit]
    if not shown:
        return []
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    recent: Counter[tuple[int, str]] = Counter()
    for campaign_id, channel, status, count, last_minute in conn.execute(
        select(
            message.c.campaign_id,
            message.c.channel,
            message.c.status,
            func.count(),
            func.count().filter(message.c.sent_at >= now - timedelta(minutes=1)),
        )
        .where(message.c.campaign_id.in_([r.id for r in shown]))
        .group_by(message.c.campaign_id, message.c.channel, message.c.status)
    ):
        counts[campaign_id, channel][status] = count
        recent[campaign_id, channel] += last_minute
    paused = paused_channels(conn)
    served = served_channels(conn, now=now)
    return [
        CampaignProgress(
            r.id,
            r.title,
            r.timezone,
            r.due_at,
            r.status,
            [
                ChannelProgress(
                    channel,
                    {s: counts[r.id, channel].get(s, 0) for s in MESSAGE_STATES},
                    recent[r.id, channel],
                    channel in paused,
                    None,
                    no_sender=served is not None and channel not in served,
                )
                for channel in r.channels
            ],
        )
        for r in shown
    ]


def _aware(value: datetime) -> datetime:
    """Aggregates bypass the column type: SQLite's MIN() comes back naive (UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class ProblemRow:
    message_id: int
    channel: str
    address: str
    status: str
    attempts: int
    reason: str
    next_attempt_at: datetime | None


def problems(
    conn: Connection,
    notice_id: int,
    *,
    limit: int = 200,
    offset: int = 0,
    now: datetime | None = None,
) -> list[ProblemRow]:
    """Failed, backing-off and unknown messages of a notice, with the reason;
    an unknown one that will not be sent again says so and has no next attempt."""
    now = now or datetime.now(UTC)
    rows = conn.execute(
        select(
            message.c.id,
            message.c.channel,
            message.c.address,
            message.c.status,
            message.c.attempts,
            message.c.last_error,
            message.c.next_attempt_at,
            not_resent(now).label("stopped"),
        )
        .where(message.c.notice_id == notice_id, message.c.status.in_(PROBLEM_STATES))
        .order_by(message.c.status, message.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    result = []
    for r in rows:
        stopped = r.status == "unknown" and bool(r.stopped)
        reason = r.last_error or ""
        if stopped:
            reason = f"{reason}; {NOT_RESENT}" if reason else NOT_RESENT
        waits = r.status == "retry_wait" or (r.status == "unknown" and not stopped)
        result.append(
            ProblemRow(
                r.id,
                r.channel,
                r.address,
                r.status,
                r.attempts,
                reason,
                r.next_attempt_at if waits else None,
            )
        )
    return result


def _allowed(conn: Connection, actor: str, action: Action) -> None:
    refusal = refusal_for(conn, actor, action)
    if refusal:
        raise MonitorError(refusal)


def _channel(channel: str | None) -> None:
    if channel is not None and channel not in CHANNELS:
        raise MonitorError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")


def _change_messages(
    engine: Engine,
    notice_id: int,
    *,
    actor: str,
    action: Action,
    name: str,
    where: list[ColumnElement[bool]],
    values: dict[str, object],
    channel: str | None,
    now: datetime,
) -> int:
    """One operator decision on a notice's messages: checked, applied, audited."""
    _channel(channel)
    with write_transaction(engine) as conn:
        _allowed(conn, actor, action)
        count = conn.execute(
            update(message)
            .where(
                message.c.notice_id == notice_id,
                *where,
                *([message.c.channel == channel] if channel else []),
            )
            .values(**values)
        ).rowcount
        audit.append(
            conn,
            actor=actor,
            action=name,
            entity="notice",
            entity_id=notice_id,
            detail={"channel": channel or "all", "messages": count},
            at=now,
        )
    return int(count)


def retry_failed(
    engine: Engine,
    notice_id: int,
    *,
    actor: str,
    channel: str | None = None,
    now: datetime | None = None,
) -> int:
    """Queue the failed messages of a notice again; returns how many.

    Not the expired ones, not those to a contact that opted out since (an
    opt-out cancels only what waits, so a failed message to them is still
    here), and nothing of a notice that may no longer send (cancelled or
    amended outage): those would only sit in the queue until they expire.
    """
    now = now or datetime.now(UTC)
    consenting = exists().where(
        contact.c.id == message.c.contact_id, contact.c.consent == "opted_in"
    )
    return _change_messages(
        engine,
        notice_id,
        actor=actor,
        action=Action.RETRY,
        name="retry",
        where=[
            message.c.status == "failed",
            message.c.expires_at > now,
            consenting,
            message.c.notice_id.in_(sendable_notice_ids()),
        ],
        values={"status": "pending", "next_attempt_at": now},
        channel=channel,
        now=now,
    )


def cancel_pending(
    engine: Engine,
    notice_id: int,
    *,
    actor: str,
    channel: str | None = None,
    now: datetime | None = None,
) -> int:
    """Stop what has not gone out yet; returns how many messages were stopped.

    Waiting messages are cancelled. Unknown ones (the gateway may have taken
    them) are not sent again: they stay unknown for a late delivery report,
    but their deadline becomes now, so no claim takes them. Messages in
    flight finish; their deadline moves too, so that one whose outcome turns
    out unknown is not resent either (not counted: it may still go out).
    """
    now = now or datetime.now(UTC)
    _channel(channel)
    mine = [
        message.c.notice_id == notice_id,
        *([message.c.channel == channel] if channel else []),
    ]
    with write_transaction(engine) as conn:
        _allowed(conn, actor, Action.CANCEL)
        cancelled = conn.execute(
            update(message)
            .where(*mine, message.c.status.in_(WAITING_STATES))
            .values(status="cancelled", lease_owner=None, lease_until=None)
        ).rowcount
        # Unknown and in-flight messages still before their deadline: a claim
        # could resend them. Their deadline moves to now, with evidence.
        moved = conn.execute(
            update(message)
            .where(
                *mine,
                message.c.status.in_(("unknown", "sending")),
                message.c.expires_at > now,
            )
            .values(expires_at=now)
            .returning(message.c.id, message.c.status)
        ).all()
        stamp = db_value(conn, delivery_event.c.at, now)
        detail = f"{NOT_RESENT}: {actor} cancelled the rest of the notice"
        insert_rows(
            conn,
            delivery_event,
            ("message_id", "at", "status", "detail"),
            [(r.id, stamp, r.status, detail) for r in moved],
        )
        stopped = Counter(r.status for r in moved)
        audit.append(
            conn,
            actor=actor,
            action="cancel_pending",
            entity="notice",
            entity_id=notice_id,
            detail={
                "channel": channel or "all",
                "messages": cancelled,
                "unknown_not_resent": stopped["unknown"],
                "in_flight": stopped["sending"],
            },
            at=now,
        )
    return int(cancelled + stopped["unknown"])


def set_paused(
    engine: Engine, channel: str, paused: bool, *, actor: str, now: datetime | None = None
) -> None:
    """Pause or resume a channel for every sending process."""
    _channel(channel)
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        _allowed(conn, actor, Action.PAUSE)
        values = {"paused": paused, "changed_by": actor, "changed_at": now}
        # One upsert: two operators pausing a never-paused channel at once on
        # PostgreSQL would otherwise both insert, and one would fail.
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(
            insert(channel_control)
            .values(channel=channel, **values)
            .on_conflict_do_update(index_elements=[channel_control.c.channel], set_=values)
        )
        audit.append(
            conn,
            actor=actor,
            action="pause" if paused else "resume",
            entity="channel",
            entity_id=channel,
            at=now,
        )


def paused_channels(conn: Connection) -> set[str]:
    return set(conn.scalars(paused_channels_query()))


CHANNEL_STATES = ("sending", "paused", "idle")


def channel_states(conn: Connection) -> dict[str, str]:
    """Each channel: `paused` by an operator, `sending` while messages are left to send
    (pending, sending, waiting to retry), else `idle`."""
    paused = paused_channels(conn)
    busy = set(
        conn.scalars(select(message.c.channel).where(message.c.status.in_(LEFT_STATES)).distinct())
    )
    return {
        channel: "paused" if channel in paused else "sending" if channel in busy else "idle"
        for channel in CHANNELS
    }
