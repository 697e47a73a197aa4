"""The place names search runs on: nodes, settlements and streets, one row per
searchable word (see `SearchTerm`).

Derived data, rebuilt per utility in the transaction that changed its nodes
or metering points (network and metering-point imports, the demo), as
`counts.refresh` is: one pass over the utility's metering points grouped by
settlement and street, a couple of seconds for a million of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select

from dispatch_tui.domain.text import fold, name_terms
from dispatch_tui.domain.tree_path import ancestor_ids, common_path
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tables import node, search_term

BATCH = 10_000
TERM_LENGTH = 255
"""The column's width: folding may lengthen a name (ligatures), so terms are cut to it."""


@dataclass
class _Place:
    """A settlement or street: where its metering points lie and how many there are."""

    low: str
    high: str
    count: int

    def add(self, low: str, high: str, count: int) -> None:
        self.low, self.high = min(self.low, low), max(self.high, high)
        self.count += count


def refresh(conn: Connection, utility_id: int) -> None:
    """Replace the utility's search terms with ones built from its current rows."""
    conn.execute(delete(search_term).where(search_term.c.utility_id == utility_id))
    batch: list[dict[str, Any]] = []
    for row in _rows(conn, utility_id):
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(search_term.insert(), batch)
            batch.clear()
    if batch:
        conn.execute(search_term.insert(), batch)


def _rows(conn: Connection, utility_id: int) -> Iterator[dict[str, Any]]:
    nodes = conn.execute(
        select(node.c.id, node.c.kind, node.c.code, node.c.name, node.c.path, node.c.mp_count)
        .where(node.c.utility_id == utility_id)
        .order_by(node.c.id)
    )
    for node_id, kind, code, name, path, count in nodes:
        row = {
            "utility_id": utility_id,
            "kind": kind,
            "name": name,
            "detail": code,
            "node_id": node_id,
            "path": path,
            "mp_count": count,
        }
        terms = name_terms(name)
        whole = {fold(code), *terms[:1]}
        for term in dict.fromkeys([fold(code), *terms]):
            yield {**row, "term": term[:TERM_LENGTH], "starts_name": term in whole}
    streets: dict[tuple[str, str], _Place] = {}
    settlements: dict[str, _Place] = {}
    grouped = conn.execute(
        select(mp.c.settlement, mp.c.street, func.min(mp.c.path), func.max(mp.c.path), func.count())
        .where(mp.c.utility_id == utility_id)
        .group_by(mp.c.settlement, mp.c.street)
    )
    for settlement, street, low, high, count in grouped:
        streets[settlement, street] = _Place(low, high, count)
        if settlement in settlements:
            settlements[settlement].add(low, high, count)
        else:
            settlements[settlement] = _Place(low, high, count)
    for settlement, place in sorted(settlements.items()):
        yield from _place_rows(utility_id, "settlement", settlement, "", place)
    for (settlement, street), place in sorted(streets.items()):
        # In a village without street names the street is the village: one place.
        if street and fold(street) != fold(settlement):
            yield from _place_rows(utility_id, "street", street, settlement, place)


def _place_rows(
    utility_id: int, kind: str, name: str, detail: str, place: _Place
) -> Iterator[dict[str, Any]]:
    path = common_path(place.low, place.high)
    ids = ancestor_ids(path)
    row = {
        "utility_id": utility_id,
        "kind": kind,
        "name": name,
        "detail": detail,
        "node_id": ids[-1] if ids else None,
        "path": path,
        "mp_count": place.count,
    }
    for index, term in enumerate(name_terms(name)):
        yield {**row, "term": term[:TERM_LENGTH], "starts_name": index == 0}
