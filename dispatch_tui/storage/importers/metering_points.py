"""Import of metering points
(`utility,mp_id,node,settlement,street,house[,eic,meter_number,priority]`).

Rows are validated as the file streams past, without holding any lock, and
parked in a staging file (importers/staging.py), which also finds
duplicates, so memory does not grow with the file. Only then is the write
lock taken, to compare the staged rows with what is stored a chunk at a
time and write the difference (new rows inserted, changed rows updated,
unchanged rows untouched), so a re-import of the same file writes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, String, and_, bindparam, exists, select, update

from dispatch_tui.domain import identifiers
from dispatch_tui.domain.text import address_key
from dispatch_tui.storage import counts, search_terms
from dispatch_tui.storage.db import insert_rows, write_transaction
from dispatch_tui.storage.importers.common import (
    BATCH,
    ImportSummary,
    Progress,
    check_importer,
    file_label,
    load_utilities,
    one_of,
    parse_flag,
)
from dispatch_tui.storage.importers.csvfile import Columns, Errors, read_csv
from dispatch_tui.storage.importers.staging import Staging
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


def _length(column: Column[Any]) -> int:
    assert isinstance(column.type, String) and column.type.length
    return column.type.length


SETTLEMENT, STREET, HOUSE = _length(mp.c.settlement), _length(mp.c.street), _length(mp.c.house)
SEARCH_KEY = _length(mp.c.search_key)


def _validate(
    path: Path, conn: Connection, staging: Staging, progress: Progress | None
) -> tuple[int, set[int]]:
    """Check every row and stage it; (rows, utility ids) or ImportFailed."""
    csv_file = read_csv(path, COLUMNS)
    errors = Errors(str(path))
    utilities = load_utilities(conn)
    nodes = {
        (uid, code): (id_, node_path)
        for uid, code, id_, node_path in conn.execute(
            select(node.c.utility_id, node.c.code, node.c.id, node.c.path)
        )
    }
    get = {name: csv_file.getter(name) for name in COLUMNS.all}
    get_utility, get_id, get_node = get["utility"], get["mp_id"], get["node"]
    get_settlement, get_street, get_house = get["settlement"], get["street"], get["house"]
    get_eic, get_meter, get_priority = get["eic"], get["meter_number"], get["priority"]
    schemes: dict[str, identifiers.IdentifierScheme] = {}
    utility_ids: set[int] = set()
    total = csv_file.estimated_rows() if progress else 0
    count = 0
    for line, raw in csv_file.rows(errors):
        count += 1
        if progress and count % BATCH == 0:
            progress("validating", count, max(count, total))
        ref = utilities.get(get_utility(raw))
        if ref is None:
            errors.add(line, f"unknown utility '{get_utility(raw)}' (import utilities first)")
            continue
        utility_ids.add(ref.id)
        scheme = schemes.get(ref.country) or schemes.setdefault(
            ref.country, identifiers.scheme_for(ref.country)
        )
        try:
            mp_id: str | None = scheme.metering_point(get_id(raw))
        except identifiers.InvalidIdentifier as exc:
            errors.add(line, str(exc))
            mp_id = None
        parent = nodes.get((ref.id, get_node(raw)), (None, None))
        if parent[0] is None:
            errors.add(line, f"unknown node '{get_node(raw)}' (import the network first)")
        settlement, street, house = get_settlement(raw), get_street(raw), get_house(raw)
        if not settlement or len(settlement) > SETTLEMENT:
            errors.add(line, f"settlement must be 1 to {SETTLEMENT} characters")
        if len(street) > STREET:
            errors.add(line, f"street is longer than {STREET} characters")
        if not house or len(house) > HOUSE:
            errors.add(line, f"house number must be 1 to {HOUSE} characters")
        key = address_key(street, house, settlement)
        if len(key) > SEARCH_KEY:
            errors.add(
                line,
                f"the address is too long to search: street, house and settlement make "
                f"{len(key)} characters together (at most {SEARCH_KEY})",
            )
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
        staging.add(
            "mp",
            (line, ref.id, mp_id, *parent, settlement, street, house, key, eic, meter, priority),
        )
    for line, _utility, mp_id, first in staging.duplicates("mp", KEY):
        errors.add(line, f"duplicate metering point '{mp_id}' (also on line {first})")
    for line, eic, first in staging.duplicates("mp", ["eic"]):
        errors.add(line, f"duplicate EIC '{eic}' (also on line {first})")
    errors.fail()
    return count, utility_ids


def _compare(
    conn: Connection, chunk: list[tuple[Any, ...]], empty: set[int]
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Split staged rows (KEY + FIELDS) into new ones and changed ones;
    utilities in `empty` had no metering points, so nothing is looked up
    for them (the file holds each key once)."""
    stored: dict[tuple[int, str], tuple[Any, ...]] = {}
    for utility_id in {row[0] for row in chunk} - empty:
        ids = [row[1] for row in chunk if row[0] == utility_id]
        found = conn.execute(
            select(mp.c.mp_id, *(mp.c[name] for name in FIELDS)).where(
                mp.c.utility_id == utility_id, one_of(conn, mp.c.mp_id, ids)
            )
        )
        stored.update(((utility_id, mp_id), tuple(rest)) for mp_id, *rest in found)
    new: list[tuple[Any, ...]] = []
    changed: list[dict[str, Any]] = []
    for staged in chunk:
        row = (*staged[:-1], bool(staged[-1]))
        old = stored.get(row[:2])
        if old is None:
            new.append(row)
        elif old != row[2:]:
            changed.append(
                {f"b_{name}": value for name, value in zip(KEY + FIELDS, row, strict=True)}
            )
    return new, changed


def import_metering_points(
    engine: Engine, path: Path, *, actor: str, progress: Progress | None = None
) -> ImportSummary:
    with Staging({"mp": KEY + FIELDS}) as staging:
        with engine.connect() as conn:
            rows, utility_ids = _validate(path, conn, staging, progress)
        inserted = updated = 0
        with write_transaction(engine) as conn:
            check_importer(conn, actor)
            empty = {
                utility_id
                for utility_id in utility_ids
                if not conn.execute(select(exists().where(mp.c.utility_id == utility_id))).scalar()
            }
            staged = f"SELECT {', '.join(KEY + FIELDS)} FROM mp ORDER BY rowid"
            for chunk in staging.chunks(staged):
                new, changed = _compare(conn, chunk, empty)
                insert_rows(conn, mp, KEY + FIELDS, new)
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
                    moves = [(r["b_utility_id"], r["b_mp_id"], r["b_path"]) for r in changed]
                    counts.follow_moves(conn, moves)
                inserted += len(new)
                updated += len(changed)
                if progress:
                    progress("writing", inserted + updated, rows)
            if inserted or updated:
                for utility_id in utility_ids:
                    counts.refresh(conn, utility_id)
                    search_terms.refresh(conn, utility_id)
            summary = ImportSummary("metering-points", rows, inserted, updated)
            summary.record(conn, actor=actor, source=file_label(path))
            return summary
