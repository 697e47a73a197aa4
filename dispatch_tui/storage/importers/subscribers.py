"""Import of subscribers with their contacts and metering points
(`utility,account,language,metering_points[,name,phone,email,telegram,viber]`).

Imported contacts count as consent given through the utility's own records
(source "import <file>"). A contact that already exists keeps its consent
as stored: a re-import never turns an opt-out back on (rule 6). Nothing is
removed by an import; leaving is done by opting out.

Like metering points, rows are validated as the file streams past and
parked in a staging file; the metering points they name are looked up and
the rows compared with what is stored a chunk at a time, so memory stays
bounded whatever the size of the file or of the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from dispatch_tui.domain import identifiers
from dispatch_tui.domain.languages import LANGUAGES
from dispatch_tui.storage import counts
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.importers.common import (
    BATCH,
    ImportSummary,
    Progress,
    check_importer,
    file_label,
    load_utilities,
    one_of,
)
from dispatch_tui.storage.importers.csvfile import Columns, Errors, read_csv
from dispatch_tui.storage.importers.staging import Staging
from dispatch_tui.storage.tables import contact, contact_scope, subscriber, subscription
from dispatch_tui.storage.tables import metering_point as mp

COLUMNS = Columns(
    required=("utility", "account", "language", "metering_points"),
    optional=("name", "phone", "email", "telegram", "viber"),
)
TELEGRAM_CHAT = re.compile(r"-?\d{1,20}")
VIBER_USER = re.compile(r"[A-Za-z0-9+/=_-]{6,64}")
LIST_SEPARATOR = re.compile(r"[;|\s]+")
STAGED = {
    "sub": ("utility_id", "account", "name", "language", "contacts"),
    "link": ("utility_id", "code"),
    "point": ("mp_id",),
}
"""sub: one per row (contacts as JSON); link: each metering point a row
names; point: the id each link resolved to."""


@dataclass
class _Row:
    line: int
    utility_id: int
    account: str
    name: str
    language: str
    contacts: list[tuple[str, str]]
    mp_ids: list[int]


@dataclass(frozen=True)
class _Written:
    inserted: int
    updated: int


def _contacts(get: dict[str, str], region: str, line: int, errors: Errors) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if phone := get["phone"]:
        try:
            found.append(("sms", identifiers.parse_phone(phone, region, mobile_only=True)))
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, str(exc))
    if email := get["email"]:
        try:
            found.append(("email", identifiers.parse_email(email)))
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, str(exc))
    if chat := get["telegram"]:
        if TELEGRAM_CHAT.fullmatch(chat):
            found.append(("telegram", chat))
        else:
            errors.add(line, f"telegram chat id '{chat}' must be a number")
    if viber := get["viber"]:
        if VIBER_USER.fullmatch(viber):
            found.append(("viber", viber))
        else:
            errors.add(
                line, f"viber user id '{viber}' is not a Viber id (6 to 64 letters, digits, +/=)"
            )
    return found


def _validate(
    path: Path, conn: Connection, staging: Staging, progress: Progress | None
) -> tuple[int, set[int]]:
    """Check every row and stage it; (rows, utility ids) or ImportFailed."""
    csv_file = read_csv(path, COLUMNS)
    errors = Errors(str(path))
    utilities = load_utilities(conn)
    getters = {name: csv_file.getter(name) for name in COLUMNS.all}
    utility_ids: set[int] = set()
    total = csv_file.estimated_rows() if progress else 0
    count = 0
    for line, raw in csv_file.rows(errors):
        count += 1
        if progress and count % BATCH == 0:
            progress("validating", count, max(count, total))
        get = {name: getter(raw) for name, getter in getters.items()}
        ref = utilities.get(get["utility"])
        if ref is None:
            errors.add(line, f"unknown utility '{get['utility']}' (import utilities first)")
            continue
        utility_ids.add(ref.id)
        scheme = identifiers.scheme_for(ref.country)
        before = errors.count
        try:
            account: str | None = scheme.account(get["account"])
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, str(exc))
            account = None
        if get["language"] not in LANGUAGES:
            errors.add(line, f"language '{get['language']}' must be one of {', '.join(LANGUAGES)}")
        if len(get["name"]) > 200:
            errors.add(line, "name is longer than 200 characters")
        found = _contacts(get, ref.country, line, errors)
        if not found and errors.count == before:
            errors.add(line, "no contact: give at least one of phone, email, telegram, viber")
        codes: dict[str, None] = {}
        for code in filter(None, LIST_SEPARATOR.split(get["metering_points"])):
            try:
                codes[scheme.metering_point(code)] = None
            except identifiers.InvalidIdentifier as exc:
                errors.add(line, str(exc))
        if not codes and errors.count == before:
            errors.add(line, "no metering points: list at least one, separated by ';'")
        staging.add("sub", (line, ref.id, account, get["name"], get["language"], json.dumps(found)))
        for code in codes:
            staging.add("link", (line, ref.id, code))
    for line, _utility, account, first in staging.duplicates("sub", ["utility_id", "account"]):
        errors.add(line, f"duplicate account '{account}' (also on line {first})")
    _resolve_points(conn, staging, errors)
    errors.fail()
    return count, utility_ids


def _resolve_points(conn: Connection, staging: Staging, errors: Errors) -> None:
    """Stage the id of each metering point named; unknown ones are errors."""
    for chunk in staging.chunks("SELECT line, utility_id, code FROM link ORDER BY rowid"):
        known: dict[tuple[int, str], int] = {}
        for utility_id in {row[1] for row in chunk}:
            codes = {row[2] for row in chunk if row[1] == utility_id}
            found = conn.execute(
                select(mp.c.mp_id, mp.c.id).where(
                    mp.c.utility_id == utility_id, one_of(conn, mp.c.mp_id, codes)
                )
            )
            known.update(((utility_id, code), id_) for code, id_ in found)
        for line, utility_id, code in chunk:
            point = known.get((utility_id, code))
            if point is None:
                errors.add(line, f"unknown metering point '{code}' (import metering points first)")
            else:
                staging.add("point", (line, point))


STAGED_ROWS = (
    "SELECT s.line, s.utility_id, s.account, s.name, s.language, s.contacts,"
    " (SELECT group_concat(p.mp_id) FROM point AS p WHERE p.line = s.line)"
    " FROM sub AS s ORDER BY s.rowid"
)


def import_subscribers(
    engine: Engine, path: Path, *, actor: str, progress: Progress | None = None
) -> ImportSummary:
    now = datetime.now(UTC)
    source = f"import {file_label(path)}"[:200]
    with Staging(STAGED) as staging:
        with engine.connect() as conn:
            rows, utility_ids = _validate(path, conn, staging, progress)
        staging.index("point", ["line"])
        inserted = updated = 0
        with write_transaction(engine) as conn:
            check_importer(conn, actor)
            for chunk in staging.chunks(STAGED_ROWS):
                written = _write(conn, [_row(staged) for staged in chunk], now, source)
                inserted += written.inserted
                updated += written.updated
                if progress:
                    progress("writing", inserted + updated, rows)
            if inserted or updated:
                # New subscribers, subscriptions, contacts or languages: the node totals.
                for utility_id in utility_ids:
                    counts.refresh(conn, utility_id)
            summary = ImportSummary("subscribers", rows, inserted, updated)
            summary.record(conn, actor=actor, source=file_label(path))
            return summary


def _row(staged: tuple[Any, ...]) -> _Row:
    line, utility_id, account, name, language, contacts, points = staged
    return _Row(
        line,
        utility_id,
        account,
        name,
        language,
        [(channel, address) for channel, address in json.loads(contacts)],
        [int(point) for point in points.split(",")],
    )


def _write(conn: Connection, rows: list[_Row], now: datetime, source: str) -> _Written:
    """Write one chunk: new subscribers, changed names and languages, and the
    contacts and subscriptions not stored yet."""
    stored: dict[tuple[int, str], tuple[int, str, str]] = {}
    for utility_id in {row.utility_id for row in rows}:
        accounts = [row.account for row in rows if row.utility_id == utility_id]
        found = conn.execute(
            select(
                subscriber.c.account, subscriber.c.id, subscriber.c.name, subscriber.c.language
            ).where(
                subscriber.c.utility_id == utility_id, one_of(conn, subscriber.c.account, accounts)
            )
        )
        stored.update(((utility_id, account), tuple(rest)) for account, *rest in found)
    ids = {key: value[0] for key, value in stored.items()}
    new = [row for row in rows if (row.utility_id, row.account) not in stored]
    touched: set[tuple[int, str]] = set()
    renamed: list[dict[str, object]] = []
    for row in rows:
        old = stored.get((row.utility_id, row.account))
        if old is not None and (old[1], old[2]) != (row.name, row.language):
            renamed.append({"b_id": old[0], "b_name": row.name, "b_language": row.language})
            touched.add((row.utility_id, row.account))
    if new:
        new_ids = conn.execute(
            insert(subscriber).returning(subscriber.c.id, sort_by_parameter_order=True),
            [
                {
                    "utility_id": row.utility_id,
                    "account": row.account,
                    "name": row.name,
                    "language": row.language,
                    "created_at": now,
                }
                for row in new
            ],
        ).scalars()
        ids.update(
            ((row.utility_id, row.account), id_) for row, id_ in zip(new, new_ids, strict=True)
        )
    if renamed:
        conn.execute(
            update(subscriber)
            .where(subscriber.c.id == bindparam("b_id"))
            .values(name=bindparam("b_name"), language=bindparam("b_language")),
            renamed,
        )
    _link(conn, rows, ids, {id_ for id_, *_rest in stored.values()}, touched, now, source)
    return _Written(len(new), len(touched))


def _link(
    conn: Connection,
    rows: list[_Row],
    ids: dict[tuple[int, str], int],
    old_ids: set[int],
    touched: set[tuple[int, str]],
    now: datetime,
    source: str,
) -> None:
    """Add the contacts and subscriptions that are not stored yet. An existing
    subscriber that gains one counts as updated (`touched`).

    A contact the utility's own file names for the account is the account's:
    one that signed up by SMS for a single metering point without proof
    becomes proven and unscoped (its owner is on the utility's records)."""
    have_contacts: dict[tuple[Any, ...], int] = {}
    unproven: set[int] = set()
    have_links: set[tuple[Any, ...]] = set()
    if old_ids:
        for contact_id, sub_id, channel, address, proven in conn.execute(
            select(
                contact.c.id,
                contact.c.subscriber_id,
                contact.c.channel,
                contact.c.address,
                contact.c.proven,
            ).where(one_of(conn, contact.c.subscriber_id, old_ids))
        ):
            have_contacts[(sub_id, channel, address)] = contact_id
            if not proven:
                unproven.add(contact_id)
        scoped = conn.scalars(
            select(contact_scope.c.contact_id).where(
                one_of(conn, contact_scope.c.contact_id, have_contacts.values())
            )
        )
        unproven.update(scoped)
        have_links.update(
            map(
                tuple,
                conn.execute(
                    select(subscription.c.subscriber_id, subscription.c.mp_id).where(
                        one_of(conn, subscription.c.subscriber_id, old_ids)
                    )
                ),
            )
        )
    new_contacts: list[dict[str, object]] = []
    new_links: list[dict[str, object]] = []
    linked: set[int] = set()
    confirmed: set[int] = set()
    for row in rows:
        key = (row.utility_id, row.account)
        sub_id = ids[key]
        for channel, address in row.contacts:
            known = have_contacts.get((sub_id, channel, address))
            if known is not None and known in unproven:
                confirmed.add(known)
            if known is None:
                new_contacts.append(
                    {
                        "subscriber_id": sub_id,
                        "channel": channel,
                        "address": address,
                        "consent": "opted_in",
                        "consent_at": now,
                        "consent_source": source,
                    }
                )
                if sub_id in old_ids:
                    touched.add(key)
        for point in row.mp_ids:
            if (sub_id, point) not in have_links:
                new_links.append({"subscriber_id": sub_id, "mp_id": point, "created_at": now})
                linked.add(sub_id)
                if sub_id in old_ids:
                    touched.add(key)
    if confirmed:
        conn.execute(
            update(contact).where(one_of(conn, contact.c.id, confirmed)).values(proven=True)
        )
        conn.execute(
            delete(contact_scope).where(one_of(conn, contact_scope.c.contact_id, confirmed))
        )
    if new_contacts:
        conn.execute(insert(contact), new_contacts)
    if new_links:
        conn.execute(insert(subscription), new_links)
        counts.add_shared(conn, linked)
