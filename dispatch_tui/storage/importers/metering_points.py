"""Import of metering points
(`utility,mp_id,node,settlement,street,house[,eic,meter_number,priority]`).

Rows are parsed and validated without holding any lock; the write lock is
taken only to compare with what is stored and write the difference (new
rows inserted, changed rows updated, unchanged rows untouched), so a
re-import of the same file writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, select, update

from dispatch_tui.domain import identifiers
from dispatch_tui.domain.text import address_key
from dispatch_tui.storage import counts
from dispatch_tui.storage.db import insert_rows, write_transaction
from dispatch_tui.storage.importers.common import (
    BATCH,
    ImportSummary,
    Progress,
    load_utilities,
    parse_flag,
)
from dispatch_tui.storage.importers.csvfile import Columns, Errors, read_csv
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tables import node

COLUMNS = Columns(
    required=("utility", "mp_id", "node", "settlement", "street", "house"),
    optional=("eic", "meter_number", "priority"),
)
METER_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9./-]{0,31}")
KEY = ("utility_id", "mp_id")
FIELDS = (
    "node_id",
    "path",
    "settlement",
    "street",
    "house",
    "search_key",
    "eic",
    "meter_number",
    "priority",
)


@dataclass(frozen=True)
class _Parsed:
    rows: list[tuple[Any, ...]]
    """In KEY + FIELDS order."""
    utility_ids: set[int]


def _parse(path: Path, conn: Connection, progress: Progress | None) -> _Parsed:
    csv_rows = read_csv(path, COLUMNS)
    errors = Errors(str(path))
    utilities = load_utilities(conn)
    nodes = {
        (uid, code): (id_, node_path)
        for uid, code, id_, node_path in conn.execute(
            select(node.c.utility_id, node.c.code, node.c.id, node.c.path)
        )
    }
    get = {name: csv_rows.getter(name) for name in COLUMNS.all}
    get_utility, get_id, get_node = get["utility"], get["mp_id"], get["node"]
    get_settlement, get_street, get_house = get["settlement"], get["street"], get["house"]
    get_eic, get_meter, get_priority = get["eic"], get["meter_number"], get["priority"]
    schemes: dict[str, identifiers.IdentifierScheme] = {}
    rows: list[tuple[Any, ...]] = []
    seen_ids: dict[tuple[int, str], int] = {}
    seen_eic: dict[str, int] = {}
    total = len(csv_rows.rows)
    for count, (line, raw) in enumerate(csv_rows.rows, 1):
        if progress and count % BATCH == 0:
            progress("validating", count, total)
        ref = utilities.get(get_utility(raw))
        if ref is None:
            errors.add(line, f"unknown utility '{get_utility(raw)}' (import utilities first)")
            continue
        scheme = schemes.get(ref.country) or schemes.setdefault(
            ref.country, identifiers.scheme_for(ref.country)
        )
        before = len(errors.items)
        try:
            mp_id = scheme.metering_point(get_id(raw))
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, str(exc))
            mp_id = ""
        parent = nodes.get((ref.id, get_node(raw)))
        if parent is None:
            errors.add(line, f"unknown node '{get_node(raw)}' (import the network first)")
        settlement, street, house = get_settlement(raw), get_street(raw), get_house(raw)
        if not settlement or len(settlement) > 120:
            errors.add(line, "settlement must be 1 to 120 characters")
        if len(street) > 200:
            errors.add(line, "street is longer than 200 characters")
        if not house or len(house) > 32:
            errors.add(line, "house number must be 1 to 32 characters")
        eic: str | None = None
        if raw_eic := get_eic(raw):
            try:
                eic = identifiers.parse_eic(raw_eic)
            except identifiers.InvalidIdentifier as exc:
                errors.add(line, str(exc))
        meter = get_meter(raw) or None
        if meter is not None and not METER_NUMBER.fullmatch(meter):
            errors.add(
                line, f"meter number '{meter}' must be 1 to 32 letters, digits, '.', '/' or '-'"
            )
        priority = parse_flag(get_priority(raw))
        if priority is None:
            errors.add(
                line, f"priority '{get_priority(raw)}' must be yes/no (or 1/0, empty for no)"
            )
        if mp_id and (first := seen_ids.setdefault((ref.id, mp_id), line)) != line:
            errors.add(line, f"duplicate metering point '{mp_id}' (also on line {first})")
        if eic and (first := seen_eic.setdefault(eic, line)) != line:
            errors.add(line, f"duplicate EIC '{eic}' (also on line {first})")
        if len(errors.items) > before or parent is None:
            continue
        key = address_key(street, house, settlement)
        rows.append(
            (ref.id, mp_id, *parent, settlement, street, house, key, eic, meter, bool(priority))
        )
    errors.fail()
    return _Parsed(rows, {row[0] for row in rows})


def import_metering_points(
    engine: Engine, path: Path, *, actor: str, progress: Progress | None = None
) -> ImportSummary:
    with engine.connect() as conn:
        parsed = _parse(path, conn, progress)
    rows = parsed.rows
    with write_transaction(engine) as conn:
        stored = {
            (row[0], row[1]): tuple(row[2:])
            for row in conn.execute(
                select(mp.c.utility_id, mp.c.mp_id, *(mp.c[name] for name in FIELDS)).where(
                    mp.c.utility_id.in_(parsed.utility_ids)
                )
            )
        }
        new: list[tuple[Any, ...]] = []
        changed: list[dict[str, Any]] = []
        for row in rows:
            old = stored.get(row[:2])
            if old is None:
                new.append(row)
            elif old != row[2:]:
                changed.append(
                    {f"b_{name}": value for name, value in zip(KEY + FIELDS, row, strict=True)}
                )
        for start in range(0, len(new), BATCH):
            insert_rows(conn, mp, KEY + FIELDS, new[start : start + BATCH])
            if progress:
                progress("writing", min(start + BATCH, len(new)), len(new) + len(changed))
        if changed:
            conn.execute(
                update(mp)
                .where(
                    and_(
                        mp.c.utility_id == bindparam("b_utility_id"),
                        mp.c.mp_id == bindparam("b_mp_id"),
                    )
                )
                .values({name: bindparam(f"b_{name}") for name in FIELDS}),
                changed,
            )
        if new or changed:
            for utility_id in parsed.utility_ids:
                counts.refresh(conn, utility_id)
        summary = ImportSummary("metering-points", len(rows), len(new), len(changed))
        summary.record(conn, actor=actor, source=path.name)
        return summary
