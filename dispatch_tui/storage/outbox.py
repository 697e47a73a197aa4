"""The outbox: claiming messages under a lease and recording what happened.

A claim is one short transaction (SQLite: `BEGIN IMMEDIATE` + `UPDATE …
RETURNING`; PostgreSQL: the same with `FOR UPDATE SKIP LOCKED`), so any
number of processes can send from one database and each message is handed
out once. A lease that ran out (its process died) is taken over. No
network call ever happens inside these transactions: the caller sends
between `claim_batch` and `record_results`.

Rules 1 and 6 are enforced here too, not only by whoever created the
messages: a message is claimable only while its notice is sendable
(`outages.sendable_notice_ids`), and a notice message only while its
contact still consents. Fan-out reads consent from a snapshot and inserts
later, and an opt-out cancels only messages that already exist, so an
opt-out committed during a fan-out is caught here, at the last moment: the
message is cancelled in the claim's own transaction, never handed out.
Replies to inbound SMS (no notice) answer the person and always go.

A message whose holder died mid-send (its lease ran out while `sending`)
may or may not have reached the gateway, so it becomes `unknown`, not
`pending`: a delivery report may still settle it, and only after
`unknown_wait` without one is it sent again. Duplicates can therefore only
come from `unknown` messages, and each resend is recorded as an event. An
unknown message stays unknown for good (a late report may still settle it,
and its contact may have been told) but is never resent once its notice may
no longer send, its contact left, or its deadline passed (an operator's
"cancel pending" moves the deadline to the moment of cancelling); the
monitor counts them with `not_resent`.

Every statement that takes a list of ids takes at most `CHUNK` of them:
PostgreSQL allows 65,535 parameters a statement and SQLite 32,766.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Update,
    and_,
    bindparam,
    case,
    exists,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)

from dispatch_tui.domain.resend import resend_at
from dispatch_tui.storage import consent
from dispatch_tui.storage.campaign_fanout import campaign_message_wanted
from dispatch_tui.storage.campaigns import sendable_campaign_ids
from dispatch_tui.storage.db import db_value, insert_rows, write_transaction
from dispatch_tui.storage.outages import sendable_notice_ids
from dispatch_tui.storage.tables import (
    channel_control,
    contact,
    delivery_event,
    inbound_message,
    message,
    notice,
    outage,
    utility,
)

RESULT_STATES = ("sent", "failed", "retry_wait", "unknown")
_RESULT_FROM = ("sending", "unknown")
REPORT_STATES = ("delivered", "failed", "sent", "buffered")
WAITING_STATES = ("pending", "retry_wait")
"""Not yet with any gateway: these expire or are cancelled outright."""
CHUNK = 5000
"""Most ids one statement takes, far below either backend's parameter limit."""
OPTED_OUT_REASON = "opted out: the contact no longer consents"
NOT_WANTED_REASON = "no longer wanted: the contact left the service, or the account paid"

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    """`items` in slices of at most `size`, for IN lists that must stay bounded."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def consents() -> ColumnElement[bool]:
    """The message may go to its recipient now: a reply to an inbound SMS (no
    notice, no campaign) always, a notice message only while its contact is opted
    in, a campaign's while its contact keeps the service and its account has not
    paid (`campaign_fanout.campaign_message_wanted`). A CASE, so that a notice's
    message never evaluates the campaign's test (the claim's hottest expression)."""
    return case(
        (
            message.c.notice_id.is_not(None),
            exists().where(contact.c.id == message.c.contact_id, contact.c.consent == "opted_in"),
        ),
        (message.c.campaign_id.is_not(None), campaign_message_wanted()),
        else_=true(),
    )


def resend_time(now: datetime, expires_at: datetime, wait: timedelta) -> datetime:
    """`next_attempt_at` of a message that became unknown now: its resend, or its
    deadline when no resend fits before it (it is then never claimed again)."""
    return resend_at(now, expires_at, wait) or expires_at


def not_resent(now: datetime) -> ColumnElement[bool]:
    """For an `unknown` message: no claim will ever send it again (its deadline
    passed or was moved by a cancel, its resend would come at or after its
    deadline, its notice may no longer send, or its contact no longer consents).
    The exact negation of what `claim_batch` requires of an unknown message, apart
    from the wait and pauses."""
    return or_(
        message.c.expires_at <= now,
        message.c.next_attempt_at >= message.c.expires_at,
        and_(message.c.notice_id.is_not(None), message.c.notice_id.not_in(sendable_notice_ids())),
        and_(
            message.c.campaign_id.is_not(None),
            message.c.campaign_id.not_in(sendable_campaign_ids()),
        ),
        not_(consents()),
    )


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    notice_id: int | None
    channel: str
    address: str
    subject: str | None
    body: str
    segments: int
    attempts: int
    expires_at: datetime
    sender: str
    """The utility's SMS sender id, or for a reply the number the person wrote to."""
    previous_status: str
    """"unknown" when this is a resend after an outcome nobody learned."""
    unsubscribe_url: str | None = None
    """An e-mail notice's one-click unsubscribe link (RFC 8058)."""


@dataclass(frozen=True)
class Result:
    """What became of one claimed message.

    `status` is "sent", "failed", "retry_wait" (with `next_attempt_at`) or
    "unknown" (the gateway may or may not have taken it; `next_attempt_at`
    is when to resend if no delivery report settles it first).
    """

    message_id: int
    status: str
    gateway_ref: str | None = None
    reason: str = ""
    next_attempt_at: datetime | None = None
    contact_gone: bool = False
    """The gateway says the address is dead for good (see `disable_contacts`)."""


def _events(conn: Connection, rows: list[dict[str, object]]) -> None:
    if rows:
        conn.execute(insert(delivery_event), rows)


def _reap_dead_leases(conn: Connection, now: datetime, unknown_wait: timedelta) -> int:
    """`sending` rows whose holder stopped renewing become `unknown`, to be resent after
    a wait that shrinks as their deadline nears (`domain.resend`), or not at all."""
    dead = conn.execute(
        select(message.c.id, message.c.lease_owner, message.c.expires_at)
        .where(message.c.status == "sending", message.c.lease_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    if not dead:
        return 0
    conn.execute(
        update(message)
        .where(message.c.id == bindparam("b_id"), message.c.status == "sending")
        .values(
            status="unknown",
            lease_until=None,
            next_attempt_at=bindparam("b_next"),
            last_error=bindparam("b_error"),
        ),
        [
            {
                "b_id": r.id,
                "b_error": f"{r.lease_owner} stopped during the send",
                "b_next": resend_time(now, r.expires_at, unknown_wait),
            }
            for r in dead
        ],
    )
    _events(
        conn,
        [
            {
                "message_id": r.id,
                "at": now,
                "status": "unknown",
                "detail": f"lease of {r.lease_owner} expired during the send",
            }
            for r in dead
        ],
    )
    return len(dead)


def paused_channels_query() -> Select[tuple[str]]:
    return select(channel_control.c.channel).where(channel_control.c.paused.is_(True))


@lru_cache(maxsize=16)
def _claim_statements(channels: tuple[str, ...]) -> tuple[Select[Any], Update]:
    """The claim's SELECT of due messages and its UPDATE of the chosen ones, built
    once per set of channels with everything else bound: building them anew (the
    consent and rule-1 subqueries) took half the claim's time, a tenth of the
    whole send loop's."""
    now = bindparam("now", type_=message.c.next_attempt_at.type)
    candidates = (
        select(
            message.c.id,
            message.c.status,
            message.c.campaign_id,
            consents().label("consents"),
        )
        .where(
            message.c.status.in_((*WAITING_STATES, "unknown")),
            message.c.next_attempt_at <= now,
            message.c.channel.in_(channels),
            message.c.channel.not_in(paused_channels_query()),
            message.c.expires_at > now,
            # A message without a notice (no outage to approve) goes only as the answer
            # to a stored inbound SMS or bot update, back to its sender on its channel.
            or_(
                message.c.notice_id.in_(sendable_notice_ids()),
                message.c.campaign_id.in_(sendable_campaign_ids()),
                and_(
                    message.c.notice_id.is_(None),
                    message.c.campaign_id.is_(None),
                    exists().where(
                        inbound_message.c.id == message.c.inbound_id,
                        inbound_message.c.channel == message.c.channel,
                        inbound_message.c.sender == message.c.address,
                    ),
                ),
            ),
            # An unknown message to a contact who left is kept, never resent;
            # waiting ones are selected so that they can be cancelled below.
            or_(message.c.status != "unknown", consents()),
        )
        .order_by(message.c.next_attempt_at, message.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=message)
    )
    take = (
        update(message)
        .where(message.c.id.in_(bindparam("ids", expanding=True)))
        .values(
            status="sending",
            lease_owner=bindparam("owner"),
            lease_until=bindparam("lease_until", type_=message.c.lease_until.type),
            attempts=message.c.attempts + 1,
        )
        .returning(
            message.c.id,
            message.c.notice_id,
            message.c.channel,
            message.c.address,
            message.c.subject,
            message.c.body,
            message.c.segments,
            message.c.attempts,
            message.c.expires_at,
            message.c.sender,
            message.c.unsubscribe_url,
        )
    )
    return candidates, take


def claim_batch(
    engine: Engine,
    *,
    owner: str,
    channels: Sequence[str],
    limit: int = 200,
    lease: timedelta = timedelta(seconds=60),
    unknown_wait: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
) -> list[ClaimedMessage]:
    """Lease up to `limit` (at most `CHUNK`) due messages of `channels` (not
    paused) to `owner`.

    Consent is read in this transaction, beside the lock on the messages:
    waiting messages to a contact who opted out meanwhile are cancelled here
    instead of handed out, and an unknown one is not resent (it stays
    unknown). On PostgreSQL an opt-out racing this claim either committed
    before it (and is seen) or waits for the claim's row locks, so it comes
    after it in every sense.
    """
    now = now or datetime.now(UTC)
    limit = min(limit, CHUNK)
    candidates, take = _claim_statements(tuple(sorted(channels)))
    with write_transaction(engine) as conn:
        _reap_dead_leases(conn, now, unknown_wait)
        before: dict[int, str] = {}
        while len(before) < limit:
            found = conn.execute(candidates, {"now": now, "limit": limit - len(before)}).all()
            refused = [r for r in found if not r.consents]
            before.update((r.id, r.status) for r in found if r.consents)
            if not refused:
                break
            # Cancelled now, so the next round looks past them.
            for reason in (OPTED_OUT_REASON, NOT_WANTED_REASON):
                ids = [
                    r.id for r in refused if (r.campaign_id is None) == (reason == OPTED_OUT_REASON)
                ]
                if ids:
                    _cancel_opted_out(conn, ids, now, reason)
        if not before:
            return []
        rows = conn.execute(
            take, {"ids": list(before), "owner": owner, "lease_until": now + lease}
        ).all()
        senders = _senders(conn, {r.notice_id for r in rows if r.sender is None})
        _events(
            conn,
            [
                {
                    "message_id": message_id,
                    "at": now,
                    "status": "resend",
                    "detail": "sent again: no report settled the unknown outcome",
                }
                for message_id, status in before.items()
                if status == "unknown"
            ],
        )
    claimed = [
        ClaimedMessage(
            *r[:9],  # type: ignore[misc]
            sender=r.sender or senders.get(r.notice_id, ""),
            previous_status=before[r.id],
            unsubscribe_url=r.unsubscribe_url,
        )
        for r in rows
    ]
    claimed.sort(key=lambda m: m.id)
    return claimed


def _cancel_opted_out(conn: Connection, ids: Sequence[int], now: datetime, reason: str) -> None:
    """Waiting messages whose contact left (or, a campaign's, whose account paid)
    since they were built (at most one claim's worth of ids)."""
    conn.execute(
        update(message)
        .where(message.c.id.in_(list(ids)), message.c.status.in_(WAITING_STATES))
        .values(status="cancelled", last_error=reason, lease_owner=None, lease_until=None)
    )
    stamp = db_value(conn, delivery_event.c.at, now)
    insert_rows(
        conn,
        delivery_event,
        ("message_id", "at", "status", "detail"),
        [(i, stamp, "cancelled", reason) for i in ids],
    )


def _senders(conn: Connection, notice_ids: set[int]) -> dict[int, str]:
    if not notice_ids:
        return {}
    rows = conn.execute(
        select(notice.c.id, utility.c.sms_sender)
        .join(outage, outage.c.id == notice.c.outage_id)
        .join(utility, utility.c.id == outage.c.utility_id)
        .where(notice.c.id.in_(notice_ids))
    )
    return {r.id: r.sms_sender for r in rows}


def record_results(
    engine: Engine, *, owner: str, results: Sequence[Result], now: datetime | None = None
) -> int:
    """Store outcomes of messages this owner still holds; returns how many.

    A result for a message whose lease was taken over meanwhile is dropped:
    the other process owns it now, and its record wins. So is one for a
    message a delivery report already settled (the report came first). A
    late result for a message reaped as `unknown` but not yet resent is
    kept: it is the answer nobody had.

    Results that say the same thing (typically "sent", no reference) are
    written with one UPDATE each; this is the send loop's hottest statement.
    """
    if not results:
        return 0
    now = now or datetime.now(UTC)
    groups: dict[tuple[str, str | None, str, datetime], list[int]] = defaultdict(list)
    for r in results:
        if r.status not in RESULT_STATES:
            raise ValueError(f"message {r.message_id}: {r.status!r} is not a send result")
        key = (r.status, r.gateway_ref, r.reason, r.next_attempt_at or now)
        groups[key].append(r.message_id)
    recorded: list[tuple[int, str, str]] = []
    with write_transaction(engine) as conn:
        for (status, ref, reason, next_at), group in groups.items():
            for ids in chunks(group):
                held = conn.execute(
                    update(message)
                    .where(
                        message.c.id.in_(list(ids)),
                        message.c.status.in_(_RESULT_FROM),
                        message.c.lease_owner == owner,
                    )
                    .values(
                        status=status,
                        gateway_ref=ref,
                        last_error=reason or None,
                        next_attempt_at=next_at,
                        sent_at=now if status == "sent" else None,
                        # An unknown outcome keeps its sender's name for the
                        # monitor and a late result.
                        lease_owner=owner if status == "unknown" else None,
                        lease_until=None,
                    )
                    .returning(message.c.id)
                ).scalars()
                recorded += [(i, status, reason or ref or "") for i in held]
        stamp = db_value(conn, delivery_event.c.at, now)
        insert_rows(
            conn,
            delivery_event,
            ("message_id", "at", "status", "detail"),
            [(i, stamp, status, detail) for i, status, detail in recorded],
        )
    return len(recorded)


def extend_leases(
    engine: Engine, *, owner: str, lease: timedelta, now: datetime | None = None
) -> int:
    """Renew every lease `owner` holds: a slow batch (rate limit, backoff)
    must not look like a dead process.

    Rows another transaction holds are skipped, never waited for: they are
    having their result recorded (the send loop's own workers) or a report
    applied, and need no renewal. Waiting for them, in whatever order the scan
    met them, while a worker locked the same rows in id order, is the deadlock
    PostgreSQL reported during a 122k send (issue 15)."""
    now = now or datetime.now(UTC)
    held = (
        select(message.c.id)
        .where(message.c.status == "sending", message.c.lease_owner == owner)
        .with_for_update(skip_locked=True)
    )
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                update(message)
                .where(
                    message.c.id.in_(held.scalar_subquery()),
                    message.c.status == "sending",
                    message.c.lease_owner == owner,
                )
                .values(lease_until=now + lease)
            ).rowcount
        )


def expire_due(engine: Engine, *, now: datetime | None = None, batch: int = CHUNK) -> int:
    """Messages not sent before their deadline (the outage start) expire.

    `unknown` ones stay unknown: they may have reached the person. Like
    the other housekeeping it looks before it takes the write lock, which
    the send loop's claims need. However many are due, each transaction
    expires at most `batch` of them, chosen in the database (no id list
    crosses the wire), and commits, so the claims get the lock in between.
    """
    now = now or datetime.now(UTC)
    due = select(message.c.id).where(
        message.c.status.in_(WAITING_STATES), message.c.expires_at <= now
    )
    with engine.connect() as reader:
        if reader.execute(due.limit(1)).first() is None:
            return 0
    expire = (
        update(message)
        .where(
            message.c.id.in_(due.limit(batch).with_for_update(skip_locked=True).scalar_subquery()),
            message.c.status.in_(WAITING_STATES),
        )
        .values(status="expired", lease_owner=None, lease_until=None)
        .returning(message.c.id)
    )
    total = 0
    while True:
        with write_transaction(engine) as conn:
            ids = list(conn.scalars(expire))
            stamp = db_value(conn, delivery_event.c.at, now)
            insert_rows(
                conn,
                delivery_event,
                ("message_id", "at", "status", "detail"),
                [(i, stamp, "expired", "not sent before its deadline") for i in ids],
            )
        total += len(ids)
        if len(ids) < batch:
            return total


# Which states a delivery report may move a message from. A report never
# undoes "delivered", and a late "sent" never overrides a final answer.
_REPORT_FROM: dict[str, tuple[str, ...]] = {
    "delivered": ("sending", "sent", "unknown", "retry_wait", "failed", "expired"),
    "failed": ("sending", "sent", "unknown"),
    "sent": ("sending", "unknown"),
    "buffered": (),
}


def apply_report(
    engine: Engine,
    message_id: int,
    status: str,
    detail: str = "",
    *,
    now: datetime | None = None,
) -> bool:
    """Apply a gateway's delivery report; False if no such message.

    The allowed previous states are part of the UPDATE itself, not of an
    earlier read: two reports for one message at once (Kannel's "sent" beside
    "delivered") are then ordered by the row lock, and the second sees what
    the first wrote. Idempotent: a report that would not change the state
    (repeated, or late) changes nothing and records nothing.
    """
    if status not in REPORT_STATES:
        raise ValueError(f"{status!r} is not a delivery report state")
    now = now or datetime.now(UTC)
    values: dict[str, object] = {"status": status, "lease_until": None}
    if status == "delivered":
        values["delivered_at"] = now
    if status in ("delivered", "sent"):
        # SET sees the row as it was: the send time is when it left our hands.
        values["sent_at"] = case(
            (message.c.status.in_(("sending", "unknown")), literal(now, message.c.sent_at.type)),
            else_=message.c.sent_at,
        )
    if status == "failed":
        values["last_error"] = detail or "the gateway reported the message undelivered"
    with write_transaction(engine) as conn:
        changed = conn.execute(
            update(message)
            .where(message.c.id == message_id, message.c.status.in_(_REPORT_FROM[status]))
            .values(**values)
            .returning(message.c.id)
        ).first()
        if changed is None:
            return bool(conn.execute(select(exists().where(message.c.id == message_id))).scalar())
        _events(
            conn,
            [{"message_id": message_id, "at": now, "status": status, "detail": f"report {detail}"}],
        )
    return True


def disable_contacts(
    engine: Engine, message_ids: Sequence[int], reason: str, *, now: datetime | None = None
) -> int:
    """Opt out the contacts behind these messages (a user blocked the bot): they
    are never messaged again, and what still waits for them is cancelled."""
    if not message_ids:
        return 0
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        contacts = {
            c
            for ids in chunks(message_ids)
            for c in conn.scalars(select(message.c.contact_id).where(message.c.id.in_(list(ids))))
            if c is not None
        }
        consent.opt_out(conn, sorted(contacts), now=now, source=reason)
    return len(contacts)
