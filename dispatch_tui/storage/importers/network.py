"""Import of the network tree: regions, substations, feeders, transformer
stations (`utility,code,parent,kind,name`).

Parents may come earlier or later in the same file or already be in the
database. A node's place in the tree is fixed once imported: moving a node
would silently move every metering point under it, so the import refuses
it and says so.

The structure (parents, cycles, levels) is checked over the whole file, so
its rows are held in memory; a network has tens of thousands of nodes, not
the millions of rows metering points and subscribers come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from dispatch_tui.domain.tree_path import child_path
from dispatch_tui.storage import search_terms
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.importers.common import (
    ImportSummary,
    Progress,
    UtilityRef,
    check_importer,
    file_label,
    load_utilities,
)
from dispatch_tui.storage.importers.csvfile import Columns, Errors, read_csv
from dispatch_tui.storage.models import NODE_KINDS
from dispatch_tui.storage.tables import node

COLUMNS = Columns(required=("utility", "code", "parent", "kind", "name"))
LEVEL = {kind: level for level, kind in enumerate(NODE_KINDS, 1)}


@dataclass
class _Row:
    line: int
    utility: UtilityRef
    code: str
    parent: str
    kind: str
    name: str


@dataclass(frozen=True)
class _Existing:
    id: int
    parent_code: str
    kind: str
    name: str
    path: str


def _existing(conn: Connection, utility_ids: set[int]) -> dict[tuple[int, str], _Existing]:
    parent = node.alias("parent")
    rows = conn.execute(
        select(
            node.c.utility_id,
            node.c.code,
            node.c.id,
            parent.c.code,
            node.c.kind,
            node.c.name,
            node.c.path,
        )
        .outerjoin(parent, parent.c.id == node.c.parent_id)
        .where(node.c.utility_id.in_(utility_ids))
    )
    return {
        (uid, code): _Existing(id_, parent_code or "", kind, name, path)
        for uid, code, id_, parent_code, kind, name, path in rows
    }


def _validate(path: Path, conn: Connection) -> tuple[list[_Row], dict[tuple[int, str], _Existing]]:
    csv_file = read_csv(path, COLUMNS)
    errors = Errors(str(path))
    utilities = load_utilities(conn)
    get = {name: csv_file.getter(name) for name in COLUMNS.all}
    rows: list[_Row] = []
    seen: dict[tuple[int, str], int] = {}
    for line, raw in csv_file.rows(errors):
        code, kind, name = get["code"](raw), get["kind"](raw), get["name"](raw)
        ref = utilities.get(get["utility"](raw))
        if ref is None:
            errors.add(line, f"unknown utility '{get['utility'](raw)}' (import utilities first)")
            continue
        problems = []
        if not code or len(code) > 64:
            problems.append("code must be 1 to 64 characters")
        if kind not in LEVEL:
            problems.append(f"unknown kind '{kind}' (one of: {', '.join(NODE_KINDS)})")
        if not name or len(name) > 200:
            problems.append("name must be 1 to 200 characters")
        if (ref.id, code) in seen:
            problems.append(f"duplicate node code '{code}' (also on line {seen[ref.id, code]})")
        for problem in problems:
            errors.add(line, problem)
        if problems:
            continue
        seen[ref.id, code] = line
        rows.append(_Row(line, ref, code, get["parent"](raw), kind, name))
    existing = _existing(conn, {row.utility.id for row in rows})
    _check_structure(rows, existing, errors)
    errors.fail()
    return rows, existing


def _check_structure(
    rows: list[_Row], existing: dict[tuple[int, str], _Existing], errors: Errors
) -> None:
    in_file = {(row.utility.id, row.code): row for row in rows}
    for row in rows:
        key = (row.utility.id, row.code)
        old = existing.get(key)
        if old is not None and old.parent_code != row.parent:
            where = f"under '{old.parent_code}'" if old.parent_code else "at the top level"
            errors.add(
                row.line, f"node '{row.code}' already exists {where}; import cannot move nodes"
            )
            continue
        if old is not None and old.kind != row.kind:
            errors.add(
                row.line, f"node '{row.code}' is a {old.kind}; import cannot change its kind"
            )
            continue
        if not row.parent:
            continue
        parent_key = (row.utility.id, row.parent)
        parent_kind = (
            in_file[parent_key].kind
            if parent_key in in_file
            else existing[parent_key].kind
            if parent_key in existing
            else None
        )
        if parent_kind is None:
            errors.add(row.line, f"unknown parent '{row.parent}'")
        elif cycle := _cycle(row, in_file):
            errors.add(row.line, f"cycle in the network: {' → '.join(cycle)}")
        elif LEVEL[row.kind] <= LEVEL[parent_kind]:
            errors.add(row.line, f"a {row.kind} cannot be under a {parent_kind} ('{row.parent}')")


def _cycle(row: _Row, in_file: dict[tuple[int, str], _Row]) -> list[str]:
    chain = [row.code]
    current = row
    while current.parent:
        if current.parent in chain:
            return [*chain[chain.index(current.parent) :], current.parent]
        nxt = in_file.get((row.utility.id, current.parent))
        if nxt is None:
            return []
        chain.append(nxt.code)
        current = nxt
    return []


def _depth(row: _Row, in_file: dict[tuple[int, str], _Row]) -> int:
    depth = 0
    current: _Row | None = row
    while current is not None and current.parent:
        depth += 1
        current = in_file.get((row.utility.id, current.parent))
    return depth


def import_network(
    engine: Engine, path: Path, *, actor: str, progress: Progress | None = None
) -> ImportSummary:
    with write_transaction(engine) as conn:
        check_importer(conn, actor)
        rows, existing = _validate(path, conn)
        in_file = {(row.utility.id, row.code): row for row in rows}
        paths = {key: (old.id, old.path) for key, old in existing.items()}
        new_rows = sorted(
            (row for row in rows if (row.utility.id, row.code) not in existing),
            key=lambda row: _depth(row, in_file),
        )
        inserted = 0
        for depth in sorted({_depth(row, in_file) for row in new_rows}):
            level = [row for row in new_rows if _depth(row, in_file) == depth]
            params = [
                {
                    "utility_id": row.utility.id,
                    "parent_id": paths[row.utility.id, row.parent][0] if row.parent else None,
                    "kind": row.kind,
                    "code": row.code,
                    "name": row.name,
                    "path": "",
                    "mp_count": 0,
                    "subscriber_count": 0,
                }
                for row in level
            ]
            ids = (
                conn.execute(
                    insert(node).returning(node.c.id, sort_by_parameter_order=True), params
                )
                .scalars()
                .all()
            )
            updates = []
            for row, new_id in zip(level, ids, strict=True):
                parent_path = paths[row.utility.id, row.parent][1] if row.parent else None
                new_path = child_path(parent_path, new_id)
                paths[row.utility.id, row.code] = (new_id, new_path)
                updates.append({"b_id": new_id, "b_path": new_path})
            conn.execute(
                update(node).where(node.c.id == bindparam("b_id")).values(path=bindparam("b_path")),
                updates,
            )
            inserted += len(level)
            if progress:
                progress("writing", inserted, len(rows))
        renamed = [
            {"b_id": existing[key].id, "b_name": row.name}
            for key, row in in_file.items()
            if key in existing and existing[key].name != row.name
        ]
        if renamed:
            conn.execute(
                update(node).where(node.c.id == bindparam("b_id")).values(name=bindparam("b_name")),
                renamed,
            )
        if inserted or renamed:
            for utility_id in sorted({row.utility.id for row in rows}):
                search_terms.refresh(conn, utility_id)
        summary = ImportSummary("network", len(rows), inserted, len(renamed))
        summary.record(conn, actor=actor, source=file_label(path))
        return summary
