"""Import of a billing snapshot: what each account owes as of one moment
(`account,amount,currency,due_date[,last_payment_date]`; `client_number`
may name the account column).

A snapshot belongs to one utility (`--utility CODE`, needed only when the
database has several) and is as of a moment in the utility's local time
(`--as-of`, default now). Snapshots are kept: each import adds one with its
rows, and earlier ones stay as the history of what billing said when. One
as old as the newest of the utility, or older, is refused: a late file must
not make bill checks answer with figures already superseded.

Like subscribers, rows are validated as the file streams past and parked
in a staging file; accounts are resolved a chunk at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from dispatch_tui.domain import balances, identifiers, timeparse
from dispatch_tui.storage import campaign_fanout
from dispatch_tui.storage.balances import newest_snapshot
from dispatch_tui.storage.db import insert_rows, write_transaction
from dispatch_tui.storage.importers.common import (
    BATCH,
    ImportSummary,
    Progress,
    UtilityRef,
    check_importer,
    file_label,
    load_utilities,
    one_of,
)
from dispatch_tui.storage.importers.csvfile import Columns, Errors, ImportFailed, RowError, read_csv
from dispatch_tui.storage.importers.staging import Staging
from dispatch_tui.storage.tables import balance, balance_snapshot, subscriber, utility

COLUMNS = Columns(
    required=("amount", "currency", "due_date"),
    optional=("account", "client_number", "last_payment_date"),
)
STAGED = {
    "bal": ("account", "amount", "currency", "due", "paid"),
    "sid": ("subscriber_id",),
}
BALANCE_COLUMNS = (
    "snapshot_id",
    "subscriber_id",
    "amount_minor",
    "currency",
    "due_date",
    "last_payment_date",
)


@dataclass(frozen=True)
class Snapshot:
    """Which utility a file is for and as of when (UTC)."""

    utility: UtilityRef
    timezone: str
    as_of: datetime


def _refuse(source: str, message: str) -> ImportFailed:
    return ImportFailed(source, [RowError(0, message)])


def resolve_snapshot(
    conn: Connection, source: str, *, utility_code: str | None, as_of: str | None, now: datetime
) -> Snapshot:
    """The utility and moment of a snapshot from the command's options; ImportFailed
    when the utility is unknown or ambiguous, or the moment is not one."""
    utilities = load_utilities(conn)
    if utility_code is not None:
        ref = utilities.get(utility_code.strip())
        if ref is None:
            known = ", ".join(sorted(utilities)) or "none yet"
            raise _refuse(source, f"--utility: unknown utility '{utility_code}' (known: {known})")
    elif len(utilities) == 1:
        ref = next(iter(utilities.values()))
    elif not utilities:
        raise _refuse(source, "the database has no utility yet (import utilities first)")
    else:
        known = ", ".join(sorted(utilities))
        raise _refuse(
            source, f"the database has several utilities: name one with --utility ({known})"
        )
    zone = str(conn.execute(select(utility.c.timezone).where(utility.c.id == ref.id)).scalar_one())
    if as_of is None:
        moment = now
    else:
        typed = as_of.strip()
        whole = typed if " " in typed or "T" in typed else f"{typed} 00:00"
        try:
            moment = timeparse.parse_local(whole, zone)
        except ValueError as exc:
            raise _refuse(source, f"--as-of: {exc} (or YYYY-MM-DD), in {zone}") from None
        if moment > now:
            raise _refuse(source, f"--as-of: {typed} is in the future")
    return Snapshot(ref, zone, moment)


def _check_newer(conn: Connection, source: str, snapshot: Snapshot) -> None:
    found = newest_snapshot(conn, snapshot.utility.id)
    if found is not None and snapshot.as_of <= found.as_of:
        shown = timeparse.format_local(found.as_of, snapshot.timezone)
        typed = timeparse.format_local(snapshot.as_of, snapshot.timezone)
        raise _refuse(
            source,
            f"--as-of {typed} is not newer than {snapshot.utility.code}'s newest snapshot "
            f"({shown}, {snapshot.timezone}): snapshots only move forward",
        )


def _validate(
    path: Path, conn: Connection, staging: Staging, snapshot: Snapshot, progress: Progress | None
) -> int:
    """Check every row and stage it; the number of rows, or ImportFailed."""
    csv_file = read_csv(path, COLUMNS)
    errors = Errors(str(path))
    if "account" in csv_file.header and "client_number" in csv_file.header:
        errors.add(1, "give either column 'account' or 'client_number', not both")
    elif "account" not in csv_file.header and "client_number" not in csv_file.header:
        errors.add(1, "missing column: account (or client_number)")
    errors.fail()
    account_column = "account" if "account" in csv_file.header else "client_number"
    get_account = csv_file.getter(account_column)
    get_amount = csv_file.getter("amount")
    get_currency = csv_file.getter("currency")
    get_due = csv_file.getter("due_date")
    get_paid = csv_file.getter("last_payment_date")
    scheme = identifiers.scheme_for(snapshot.utility.country)
    total = csv_file.estimated_rows() if progress else 0
    count = 0
    for line, raw in csv_file.rows(errors):
        count += 1
        if progress and count % BATCH == 0:
            progress("validating", count, max(count, total))
        account: str | None = None
        try:
            account = scheme.account(get_account(raw))
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, f"column '{account_column}': {exc}")
        currency = "EUR"
        try:
            currency = balances.parse_currency(get_currency(raw))
        except ValueError as exc:
            errors.add(line, f"column 'currency': {exc}")
        amount: int | None = None
        try:
            amount = balances.parse_amount(get_amount(raw), currency)
        except ValueError as exc:
            errors.add(line, f"column 'amount': {exc}")
        due: str | None = None
        try:
            due = balances.parse_day(get_due(raw)).isoformat()
        except ValueError as exc:
            errors.add(line, f"column 'due_date': {exc}")
        paid: str | None = None
        if typed := get_paid(raw):
            try:
                paid = balances.parse_day(typed).isoformat()
            except ValueError as exc:
                errors.add(line, f"column 'last_payment_date': {exc}")
        staging.add("bal", (line, account, amount, currency, due, paid))
    for line, account, first in staging.duplicates("bal", ["account"]):
        errors.add(
            line, f"column '{account_column}': duplicate account '{account}' (also on line {first})"
        )
    _resolve_accounts(conn, staging, snapshot.utility.id, account_column, errors)
    errors.fail()
    return count


def _resolve_accounts(
    conn: Connection, staging: Staging, utility_id: int, column: str, errors: Errors
) -> None:
    """Stage the subscriber of each account; unknown accounts are errors."""
    query = "SELECT line, account FROM bal WHERE account IS NOT NULL ORDER BY rowid"
    for chunk in staging.chunks(query):
        query_ = select(subscriber.c.account, subscriber.c.id).where(
            subscriber.c.utility_id == utility_id,
            one_of(conn, subscriber.c.account, {row[1] for row in chunk}),
        )
        found = {str(account): int(id_) for account, id_ in conn.execute(query_)}
        for line, account in chunk:
            sid = found.get(account)
            if sid is None:
                errors.add(
                    line,
                    f"column '{column}': unknown account '{account}' (import subscribers first)",
                )
            else:
                staging.add("sid", (line, sid))


# In subscriber order: the balance indexes (both begin or end with it) grow at one end
# instead of taking 200,000 rows at random places.
STAGED_ROWS = (
    "SELECT s.subscriber_id, b.amount, b.currency, b.due, b.paid"
    " FROM bal AS b JOIN sid AS s ON s.line = b.line ORDER BY s.subscriber_id"
)


def import_balances(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    progress: Progress | None = None,
    as_of: str | None = None,
    utility_code: str | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Add a balance snapshot from `path`; all or nothing (see the module docstring)."""
    now = now or datetime.now(UTC)
    source = str(path)
    with Staging(STAGED) as staging:
        with engine.connect() as conn:
            snapshot = resolve_snapshot(
                conn, source, utility_code=utility_code, as_of=as_of, now=now
            )
            _check_newer(conn, source, snapshot)
            rows = _validate(path, conn, staging, snapshot, progress)
        staging.index("sid", ["line"])
        with write_transaction(engine) as conn:
            check_importer(conn, actor)
            _check_newer(conn, source, snapshot)
            snapshot_id = conn.execute(
                insert(balance_snapshot).returning(balance_snapshot.c.id),
                {
                    "utility_id": snapshot.utility.id,
                    "as_of": snapshot.as_of,
                    "imported_at": now,
                    "imported_by": actor[:64],
                    "source": file_label(path)[:300],
                    "rows": rows,
                },
            ).scalar_one()
            written = 0
            for chunk in staging.chunks(STAGED_ROWS):
                insert_rows(
                    conn,
                    balance,
                    BALANCE_COLUMNS,
                    [
                        (
                            snapshot_id,
                            sid,
                            amount,
                            currency,
                            _day(conn, due),
                            _day(conn, paid),
                        )
                        for sid, amount, currency, due, paid in chunk
                    ],
                )
                written += len(chunk)
                if progress:
                    progress("writing", written, rows)
            # Reminders waiting for accounts this snapshot shows paid are not sent.
            campaign_fanout.drop_paid_in(conn, snapshot.utility.id, actor=actor)
            summary = ImportSummary("balances", rows, written, 0)
            summary.record(
                conn,
                actor=actor,
                source=file_label(path),
                extra={
                    "utility": snapshot.utility.code,
                    "as_of": snapshot.as_of.isoformat(),
                    "snapshot": snapshot_id,
                },
            )
            return summary


def _day(conn: Connection, iso: str | None) -> date | str | None:
    """A staged ISO date as the driver takes it (SQLite stores that very text)."""
    if iso is None or conn.dialect.name == "sqlite":
        return iso
    return date.fromisoformat(iso)
