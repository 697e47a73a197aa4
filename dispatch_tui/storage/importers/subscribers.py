"""Import of subscribers with their contacts and metering points
(`utility,account,language,metering_points[,name,phone,email,telegram,viber]`).

Imported contacts count as consent given through the utility's own records
(source "import <file>"). A contact that already exists keeps its consent
as stored: a re-import never turns an opt-out back on (rule 6). Nothing is
removed by an import; leaving is done by opting out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from dispatch_tui.domain import identifiers
from dispatch_tui.domain.languages import LANGUAGES
from dispatch_tui.storage import counts
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.importers.common import (
    BATCH,
    ImportSummary,
    Progress,
    load_utilities,
)
from dispatch_tui.storage.importers.csvfile import Columns, Errors, read_csv
from dispatch_tui.storage.tables import contact, subscriber, subscription
from dispatch_tui.storage.tables import metering_point as mp

COLUMNS = Columns(
    required=("utility", "account", "language", "metering_points"),
    optional=("name", "phone", "email", "telegram", "viber"),
)
TELEGRAM_CHAT = re.compile(r"-?\d{1,20}")
VIBER_USER = re.compile(r"[A-Za-z0-9+/=_-]{6,64}")
LIST_SEPARATOR = re.compile(r"[;|\s]+")


@dataclass
class _Row:
    line: int
    utility_id: int
    account: str
    name: str
    language: str
    contacts: list[tuple[str, str]]
    mp_ids: list[int]


@dataclass
class _Changes:
    new_subscribers: list[_Row] = field(default_factory=list)
    renamed: list[dict[str, object]] = field(default_factory=list)
    touched: set[tuple[int, str]] = field(default_factory=set)


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


def _parse(path: Path, conn: Connection, progress: Progress | None) -> list[_Row]:
    csv_rows = read_csv(path, COLUMNS)
    errors = Errors(str(path))
    utilities = load_utilities(conn)
    mp_ids = {
        (uid, code): id_
        for uid, code, id_ in conn.execute(select(mp.c.utility_id, mp.c.mp_id, mp.c.id))
    }
    getters = {name: csv_rows.getter(name) for name in COLUMNS.all}
    rows: list[_Row] = []
    seen: dict[tuple[int, str], int] = {}
    total = len(csv_rows.rows)
    for count, (line, raw) in enumerate(csv_rows.rows, 1):
        if progress and count % BATCH == 0:
            progress("validating", count, total)
        get = {name: getter(raw) for name, getter in getters.items()}
        ref = utilities.get(get["utility"])
        if ref is None:
            errors.add(line, f"unknown utility '{get['utility']}' (import utilities first)")
            continue
        scheme = identifiers.scheme_for(ref.country)
        before = len(errors.items)
        try:
            account = scheme.account(get["account"])
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, str(exc))
            account = ""
        if account and (first := seen.setdefault((ref.id, account), line)) != line:
            errors.add(line, f"duplicate account '{account}' (also on line {first})")
        if get["language"] not in LANGUAGES:
            errors.add(line, f"language '{get['language']}' must be one of {', '.join(LANGUAGES)}")
        if len(get["name"]) > 200:
            errors.add(line, "name is longer than 200 characters")
        found = _contacts(get, ref.country, line, errors)
        if not found and len(errors.items) == before:
            errors.add(line, "no contact: give at least one of phone, email, telegram, viber")
        points: list[int] = []
        for code in filter(None, LIST_SEPARATOR.split(get["metering_points"])):
            try:
                canonical = scheme.metering_point(code)
            except identifiers.InvalidIdentifier as exc:
                errors.add(line, str(exc))
                continue
            point = mp_ids.get((ref.id, canonical))
            if point is None:
                errors.add(
                    line, f"unknown metering point '{canonical}' (import metering points first)"
                )
            else:
                points.append(point)
        if not points and len(errors.items) == before:
            errors.add(line, "no metering points: list at least one, separated by ';'")
        if len(errors.items) == before:
            rows.append(_Row(line, ref.id, account, get["name"], get["language"], found, points))
    errors.fail()
    return rows


def import_subscribers(
    engine: Engine, path: Path, *, actor: str, progress: Progress | None = None
) -> ImportSummary:
    with engine.connect() as conn:
        rows = _parse(path, conn, progress)
    now = datetime.now(UTC)
    source = f"import {path.name}"[:200]
    utility_ids = {row.utility_id for row in rows}
    with write_transaction(engine) as conn:
        stored = {
            (uid, account): (id_, name, language)
            for uid, account, id_, name, language in conn.execute(
                select(
                    subscriber.c.utility_id,
                    subscriber.c.account,
                    subscriber.c.id,
                    subscriber.c.name,
                    subscriber.c.language,
                ).where(subscriber.c.utility_id.in_(utility_ids))
            )
        }
        changes = _Changes()
        for row in rows:
            old = stored.get((row.utility_id, row.account))
            if old is None:
                changes.new_subscribers.append(row)
            elif (old[1], old[2]) != (row.name, row.language):
                changes.renamed.append(
                    {"b_id": old[0], "b_name": row.name, "b_language": row.language}
                )
                changes.touched.add((row.utility_id, row.account))
        ids = {key: value[0] for key, value in stored.items()}
        for start in range(0, len(changes.new_subscribers), BATCH):
            chunk = changes.new_subscribers[start : start + BATCH]
            new_ids = (
                conn.execute(
                    insert(subscriber).returning(subscriber.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "utility_id": r.utility_id,
                            "account": r.account,
                            "name": r.name,
                            "language": r.language,
                            "created_at": now,
                        }
                        for r in chunk
                    ],
                )
                .scalars()
                .all()
            )
            ids.update(((r.utility_id, r.account), i) for r, i in zip(chunk, new_ids, strict=True))
            if progress:
                progress("writing", start + len(chunk), len(rows))
        if changes.renamed:
            conn.execute(
                update(subscriber)
                .where(subscriber.c.id == bindparam("b_id"))
                .values(name=bindparam("b_name"), language=bindparam("b_language")),
                changes.renamed,
            )
        linked = _link(conn, rows, ids, changes, now, source, utility_ids)
        if linked:
            for utility_id in utility_ids:
                counts.refresh(conn, utility_id)
        updated = len(changes.touched)
        summary = ImportSummary("subscribers", len(rows), len(changes.new_subscribers), updated)
        summary.record(conn, actor=actor, source=path.name)
        return summary


def _link(
    conn: Connection,
    rows: list[_Row],
    ids: dict[tuple[int, str], int],
    changes: _Changes,
    now: datetime,
    source: str,
    utility_ids: set[int],
) -> bool:
    """Add the contacts and subscriptions that are not stored yet; True if
    any subscription was added (the tree's subscriber totals change)."""
    owned = select(subscriber.c.id).where(subscriber.c.utility_id.in_(utility_ids))
    have_contacts = {
        tuple(row)
        for row in conn.execute(
            select(contact.c.subscriber_id, contact.c.channel, contact.c.address).where(
                contact.c.subscriber_id.in_(owned)
            )
        )
    }
    have_links = {
        tuple(row)
        for row in conn.execute(
            select(subscription.c.subscriber_id, subscription.c.mp_id).where(
                subscription.c.subscriber_id.in_(owned)
            )
        )
    }
    new_contacts: list[dict[str, object]] = []
    new_links: list[dict[str, object]] = []
    brand_new = {(r.utility_id, r.account) for r in changes.new_subscribers}
    for row in rows:
        key = (row.utility_id, row.account)
        sub_id = ids[key]
        for channel, address in row.contacts:
            if (sub_id, channel, address) not in have_contacts:
                have_contacts.add((sub_id, channel, address))
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
                if key not in brand_new:
                    changes.touched.add(key)
        for point in row.mp_ids:
            if (sub_id, point) not in have_links:
                have_links.add((sub_id, point))
                new_links.append({"subscriber_id": sub_id, "mp_id": point, "created_at": now})
                if key not in brand_new:
                    changes.touched.add(key)
    for start in range(0, len(new_contacts), BATCH):
        conn.execute(insert(contact), new_contacts[start : start + BATCH])
    for start in range(0, len(new_links), BATCH):
        conn.execute(insert(subscription), new_links[start : start + BATCH])
    return bool(new_links)
