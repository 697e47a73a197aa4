"""Import of the utilities themselves
(`code,name,country,timezone,language,contact_phone,sms_sender`, and optionally the
meter readings' `reading_registers,reading_opens_days,reading_closes_day,reading_max_kwh_day`).

A utility is the root of a network tree and carries what differs between
operators: country (and with it the identifier formats), time zone,
language, the contact number every notice must carry, the SMS sender id.

A utility's country cannot change once anything belongs to it: its
metering point ids, accounts and phone numbers were checked against that
country's formats, and inbound sign-ups find them by those formats. The
time zone may change: times are stored in UTC, so a new zone changes how
they are shown, not what they mean.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import Connection, Engine, Table, exists, select

from dispatch_tui.domain import identifiers
from dispatch_tui.domain.languages import LANGUAGES
from dispatch_tui.domain.reading_window import ReadingSettings
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.importers.common import (
    ImportSummary,
    Progress,
    check_importer,
    file_label,
    upsert,
)
from dispatch_tui.storage.importers.csvfile import Columns, Errors, read_csv
from dispatch_tui.storage.models import Base
from dispatch_tui.storage.tables import utility

READING = {
    "reading_registers": "registers",
    "reading_opens_days": "opens_days",
    "reading_closes_day": "closes_day",
    "reading_max_kwh_day": "max_kwh_per_day",
}
"""Optional columns: the utility's meter readings (domain.reading_window.ReadingSettings);
empty or absent means its default."""
COLUMNS = Columns(
    required=("code", "name", "country", "timezone", "language", "contact_phone", "sms_sender"),
    optional=tuple(READING),
)
CODE = re.compile(r"[A-Z0-9_-]{1,32}")
# GSM networks accept an alphanumeric sender of up to 11 characters, or a number.
SENDER = re.compile(r"[A-Za-z0-9 .&-]{1,11}|\+?\d{3,15}")
FIELDS = (
    "name",
    "country",
    "timezone",
    "language",
    "contact_phone",
    "sms_sender",
    *READING,
)
COUNTRY = FIELDS.index("country")
OWNED = {"node": "network nodes", "metering_point": "metering points", "subscriber": "subscribers"}


def _owners() -> list[Table]:
    """Every table whose rows belong to a utility."""
    return [table for table in Base.metadata.sorted_tables if "utility_id" in table.c]


def _owned(conn: Connection, utility_id: int) -> list[str]:
    """What is stored for this utility, in words ("network nodes", …)."""
    return [
        OWNED.get(table.name, table.name.replace("_", " ") + "s")
        for table in _owners()
        if conn.execute(select(exists().where(table.c.utility_id == utility_id))).scalar()
    ]


def import_utilities(
    engine: Engine, path: Path, *, actor: str, progress: Progress | None = None
) -> ImportSummary:
    csv_file = read_csv(path, COLUMNS)
    errors = Errors(str(path))
    zones = available_timezones()
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    for line, raw in csv_file.rows(errors):
        row = {name: csv_file.getter(name)(raw) for name in COLUMNS.all}
        row["country"] = row["country"].upper()
        if not CODE.fullmatch(row["code"]):
            errors.add(line, f"code '{row['code']}' must be 1 to 32 of A-Z, 0-9, '_' or '-'")
        elif (first := seen.setdefault(row["code"], line)) != line:
            errors.add(line, f"duplicate utility '{row['code']}' (also on line {first})")
        if not row["name"] or len(row["name"]) > 200:
            errors.add(line, "name must be 1 to 200 characters")
        try:
            identifiers.scheme_for(row["country"])
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, str(exc))
        if row["timezone"] not in zones:
            errors.add(line, f"unknown time zone '{row['timezone']}' (like Europe/Ljubljana)")
        else:
            ZoneInfo(row["timezone"])
        if row["language"] not in LANGUAGES:
            errors.add(line, f"language '{row['language']}' must be one of {', '.join(LANGUAGES)}")
        if not row["contact_phone"] or len(row["contact_phone"]) > 32:
            errors.add(line, "contact_phone must be 1 to 32 characters")
        if not SENDER.fullmatch(row["sms_sender"]):
            errors.add(
                line,
                f"sms_sender '{row['sms_sender']}' must be up to 11 letters/digits or a number",
            )
        _reading_settings(row, line, errors)
        rows.append(row)
        lines.append(line)
    errors.fail()
    with write_transaction(engine) as conn:
        check_importer(conn, actor)
        ids: dict[str, int] = {}
        stored: dict[str, tuple[str, ...]] = {}
        for code, id_, *rest in conn.execute(
            select(utility.c.code, utility.c.id, *(utility.c[f] for f in FIELDS))
        ):
            ids[code], stored[code] = id_, tuple(rest)
        for line, row in zip(lines, rows, strict=True):
            old = stored.get(row["code"])
            if old is not None and old[COUNTRY] != row["country"]:
                _refuse_country_change(conn, errors, line, row, ids[row["code"]], old[COUNTRY])
        errors.fail()
        new = sum(1 for row in rows if row["code"] not in stored)
        changed = sum(
            1
            for row in rows
            if row["code"] in stored and stored[row["code"]] != tuple(row[f] for f in FIELDS)
        )
        if new or changed:
            conn.execute(upsert(utility, conn, ["code"], list(FIELDS)), rows)
        summary = ImportSummary("utilities", len(rows), new, changed)
        summary.record(conn, actor=actor, source=file_label(path))
        if progress:
            progress("writing", len(rows), len(rows))
        return summary


def _reading_settings(row: dict[str, Any], line: int, errors: Errors) -> None:
    """The reading columns as integers (their defaults where empty), or errors naming them."""
    given: dict[str, int] = {}
    for column, name in READING.items():
        raw = row[column]
        if not raw:
            continue
        if not raw.isascii() or not raw.isdigit():
            errors.add(line, f"{column} '{raw[:20]}' must be a whole number")
            return
        given[name] = int(raw)
    try:
        settings = ReadingSettings(**given)
    except ValueError as exc:
        errors.add(line, f"reading settings: {exc}")
        return
    for column, name in READING.items():
        row[column] = getattr(settings, name)


def _refuse_country_change(
    conn: Connection, errors: Errors, line: int, row: dict[str, str], utility_id: int, old: str
) -> None:
    if owned := _owned(conn, utility_id):
        what = ", ".join(owned)
        errors.add(
            line,
            f"utility '{row['code']}' already has {what}; import cannot change its country "
            f"from {old} to {row['country']} (what is stored follows {old}'s formats)",
        )
