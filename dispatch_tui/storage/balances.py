"""Balances as billing's snapshots said them: a utility's newest snapshot, an
account's newest balance and its history, and the record of bill checks.

An account's current balance is its row in its utility's newest snapshot:
a snapshot is billing's whole picture at that moment, so an account missing
from it has no figure to give (not the one an older snapshot had). The
history shows every snapshot that named the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, insert, select

from dispatch_tui.domain.balances import BalanceView
from dispatch_tui.storage.tables import balance, balance_snapshot, bill_check, subscriber, utility


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    utility_id: int
    as_of: datetime
    rows: int


@dataclass(frozen=True)
class AccountBalance:
    """One snapshot's figure for an account."""

    snapshot_id: int
    as_of: datetime
    account: str
    amount_minor: int
    currency: str
    due_date: date
    last_payment_date: date | None
    timezone: str
    """The utility's, for showing dates and the snapshot's moment locally."""

    def view(self) -> BalanceView:
        return BalanceView(
            self.account,
            self.amount_minor,
            self.currency,
            self.due_date,
            self.as_of,
            self.timezone,
        )


def newest_snapshot(conn: Connection, utility_id: int) -> SnapshotInfo | None:
    """The utility's newest balance snapshot (campaigns select from it)."""
    row = conn.execute(
        select(
            balance_snapshot.c.id,
            balance_snapshot.c.utility_id,
            balance_snapshot.c.as_of,
            balance_snapshot.c.rows,
        )
        .where(balance_snapshot.c.utility_id == utility_id)
        .order_by(balance_snapshot.c.as_of.desc())
        .limit(1)
    ).first()
    return None if row is None else SnapshotInfo(row.id, row.utility_id, row.as_of, row.rows)


def _balances(
    conn: Connection, subscriber_id: int, *, snapshot_id: int | None = None
) -> list[AccountBalance]:
    query = (
        select(
            balance.c.snapshot_id,
            balance_snapshot.c.as_of,
            subscriber.c.account,
            balance.c.amount_minor,
            balance.c.currency,
            balance.c.due_date,
            balance.c.last_payment_date,
            utility.c.timezone,
        )
        .join(balance_snapshot, balance_snapshot.c.id == balance.c.snapshot_id)
        .join(subscriber, subscriber.c.id == balance.c.subscriber_id)
        .join(utility, utility.c.id == subscriber.c.utility_id)
        .where(balance.c.subscriber_id == subscriber_id)
        .order_by(balance_snapshot.c.as_of.desc())
    )
    if snapshot_id is not None:
        query = query.where(balance.c.snapshot_id == snapshot_id)
    return [AccountBalance(*row) for row in conn.execute(query)]


def newest_balance(conn: Connection, subscriber_id: int) -> AccountBalance | None:
    """The account's row in its utility's newest snapshot; None when that snapshot
    (or any) does not name it."""
    utility_id = conn.execute(
        select(subscriber.c.utility_id).where(subscriber.c.id == subscriber_id)
    ).scalar()
    newest = None if utility_id is None else newest_snapshot(conn, int(utility_id))
    if newest is None:
        return None
    found = _balances(conn, subscriber_id, snapshot_id=newest.id)
    return found[0] if found else None


def balance_history(conn: Connection, subscriber_id: int) -> list[AccountBalance]:
    """Every snapshot's figure for the account, newest first."""
    return _balances(conn, subscriber_id)


@dataclass(frozen=True)
class AccountBalances:
    """What the Subscribers screen shows: the current figure and every snapshot's."""

    newest: AccountBalance | None
    history: list[AccountBalance]


def account_balances(conn: Connection, subscriber_id: int) -> AccountBalances:
    return AccountBalances(
        newest_balance(conn, subscriber_id), balance_history(conn, subscriber_id)
    )


def record_bill_check(
    conn: Connection,
    *,
    at: datetime,
    channel: str,
    outcome: str,
    subscriber_id: int | None = None,
    snapshot_id: int | None = None,
) -> None:
    """Keep a customer's bill check with what it came to (answered, unverified,
    unknown_account, no_balance): the monthly figures and the evidence."""
    conn.execute(
        insert(bill_check).values(
            at=at,
            channel=channel,
            subscriber_id=subscriber_id,
            snapshot_id=snapshot_id,
            outcome=outcome,
        )
    )
