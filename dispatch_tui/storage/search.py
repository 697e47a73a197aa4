"""Finding a place in the network by what an operator has at hand.

Places (areas, substations, feeders, transformer stations by name or code;
settlements and streets) by a prefix of any word of their name, from
`search_term`; metering points by id, address, EIC code, meter number or the
customer's account number, each matched as a prefix. "Prešernova 5" finds
the houses numbered 5 on the streets whose name starts with "Prešernova".

Each field is one index range scan with a LIMIT, so a search stays a few
milliseconds over a million metering points whatever is typed. The scans
of all fields go in one statement (after finding the streets of "street
house"), built once per shape with bound prefixes: on PostgreSQL each statement is a round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
    bindparam,
    literal_column,
    select,
    union_all,
)

from dispatch_tui.domain.text import fold, prefix_upper_bound
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tables import search_term, subscriber, subscription

CANDIDATES = 4
"""Term rows read per place wanted: one place may match by several words."""
STREETS_FOR_HOUSE = 5
"""Streets tried for "Prešernova 5" (one name may exist in several settlements)."""
_STREET_AND_HOUSE = re.compile(r"(.*\D)\s+(\d+\w*)")


@dataclass(frozen=True)
class TreeTarget:
    """Where a hit sits in the network tree: the node's path ("" for the
    utility itself) and the metering point under it, if the hit is one."""

    utility_id: int
    path: str
    mp: int | None
    name: str


@dataclass(frozen=True)
class SearchHit:
    """A metering point found by one of its identifiers or its address."""

    id: int
    utility_id: int
    mp_id: str
    address: str
    path: str
    matched_on: str

    @property
    def target(self) -> TreeTarget:
        return TreeTarget(self.utility_id, self.path, self.id, self.mp_id)


@dataclass(frozen=True)
class PlaceHit:
    """A node, settlement or street; `detail` is a node's code or a street's settlement."""

    kind: str
    name: str
    detail: str
    utility_id: int
    path: str
    metering_points: int
    whole_name: bool
    """Matched from the start of the name or code, not by a later word."""

    @property
    def target(self) -> TreeTarget:
        return TreeTarget(self.utility_id, self.path, None, self.name)


Hit = SearchHit | PlaceHit

KIND_ORDER = ("region", "settlement", "substation", "feeder", "street", "transformer_station")
"""Among equally good matches, the bigger kind of place first."""


def _id_prefixes(text: str) -> list[str]:
    """The typed text, plus "6-123" for "6123" (ids are often typed without the dash)."""
    upper = text.upper()
    candidates = [upper]
    if re.fullmatch(r"\d{2,}", upper):
        candidates.append(f"{upper[0]}-{upper[1:]}")
    return candidates


POINT_LABELS = {
    "mp_id": "metering point",
    "eic": "EIC",
    "meter_number": "meter number",
    "search_key": "address",
    "account": "account",
}
"""What a hit was matched on, by the column its prefix was looked up in."""


def search_metering_points(
    conn: Connection, text: str, *, limit: int = 50, utility_id: int | None = None
) -> list[SearchHit]:
    """Metering points matching `text`, best kind of match first."""
    text = " ".join(text.split())
    if not text:
        return []
    # The streets of "Prešernova 5" first, so the lookups keep their order of merit
    # (the addresses of those streets before account numbers) in one statement.
    streets = [
        ("search_key", fold(f"{street} {house}"))
        for street, house in _streets_with_house(conn, text, utility_id)
    ]
    lookups = [
        *(("mp_id", p) for p in _id_prefixes(text)),
        ("eic", text.upper()),
        ("meter_number", text.upper()),
        ("search_key", fold(text)),
        *streets,
        ("account", text.replace(" ", "")),
    ]
    hits: dict[int, SearchHit] = {}
    _collect(hits, _matching(conn, lookups, utility_id, limit), limit)
    return list(hits.values())


def _between(column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """A prefix range whose bounds are bound as `<name>_lo` and `<name>_hi`."""
    return (column >= bindparam(f"{name}_lo")) & (column < bindparam(f"{name}_hi"))


POINT_COLUMNS = (
    mp.c.id,
    mp.c.utility_id,
    mp.c.mp_id,
    mp.c.street,
    mp.c.house,
    mp.c.settlement,
    mp.c.path,
)


@lru_cache(maxsize=64)
def _points_statement(columns: tuple[str, ...], scoped: bool) -> CompoundSelect[Any]:
    """Up to `:limit` metering points per prefix lookup, one lookup per column named,
    in one statement: on PostgreSQL every statement is a round trip, and six of them
    made a search 3x slower than on SQLite. Built once per shape; its bounds are bound
    (building a statement this size cost more than running it on SQLite)."""
    parts = []
    for order, column in enumerate(columns):
        name = f"m{order}"
        condition: ColumnElement[bool]
        if column == "account":
            accounts = (
                select(subscription.c.mp_id)
                .join(subscriber, subscriber.c.id == subscription.c.subscriber_id)
                .where(_between(subscriber.c.account, name))
                .limit(bindparam("limit"))
                .scalar_subquery()
            )
            condition = mp.c.id.in_(accounts)
        else:
            condition = _between(mp.c[column], name)
        part = select(literal_column(str(order)).label("match"), *POINT_COLUMNS).where(condition)
        if scoped:
            part = part.where(mp.c.utility_id == bindparam("utility_id"))
        parts.append(part.limit(bindparam("limit")).subquery())
    # Each part wrapped in a SELECT of its own: SQLite takes no LIMIT inside a UNION.
    return union_all(*(select(*part.c) for part in parts))


def _matching(
    conn: Connection, lookups: list[tuple[str, str]], utility_id: int | None, limit: int
) -> list[tuple[str, Any]]:
    """(label, row) of up to `limit` metering points per (column, prefix) lookup, in
    the order of the lookups."""
    params: dict[str, Any] = {"limit": limit, "utility_id": utility_id}
    for order, (_, prefix) in enumerate(lookups):
        params[f"m{order}_lo"] = prefix
        params[f"m{order}_hi"] = prefix_upper_bound(prefix)
    columns = tuple(column for column, _ in lookups)
    statement = _points_statement(columns, utility_id is not None)
    rows = sorted(conn.execute(statement, params), key=lambda row: int(row.match))
    return [(POINT_LABELS[columns[int(row.match)]], row) for row in rows]


def _streets_with_house(
    conn: Connection, text: str, utility_id: int | None
) -> list[tuple[str, str]]:
    """(street, house) for "Prešernova 5": the full names of streets starting so."""
    match = _STREET_AND_HOUSE.fullmatch(text)
    if match is None:
        return []
    street, house = match.groups()
    places = search_places(conn, street, limit=STREETS_FOR_HOUSE, utility_id=utility_id)
    names = dict.fromkeys(p.name for p in places if p.kind == "street")
    return [(name, house) for name in names if fold(name) != fold(street)]


def search_places(
    conn: Connection, text: str, *, limit: int = 50, utility_id: int | None = None
) -> list[PlaceHit]:
    """Nodes, settlements and streets with a word starting with `text`, best first:
    a match of the whole name before one of a later word, the exact name before
    a longer one, then areas before settlements, substations, feeders, streets
    and stations, bigger before smaller."""
    query = fold(text)
    if not query:
        return []
    rows = conn.execute(
        _places_statement(utility_id is not None),
        {
            "term_lo": query,
            "term_hi": prefix_upper_bound(query),
            "utility_id": utility_id,
            "limit": limit * CANDIDATES,
        },
    )
    best: dict[tuple[int, str, str, str], tuple[tuple[object, ...], PlaceHit]] = {}
    for term, kind, name, detail, uid, path, count, starts in rows:
        hit = PlaceHit(kind, name, detail, uid, path, count, bool(starts))
        rank = (not starts, term != query, KIND_ORDER.index(kind), -count, name, detail)
        key = (uid, kind, name, detail)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, hit)
    ranked = sorted(best.values(), key=lambda pair: pair[0])
    return [hit for _, hit in ranked[:limit]]


@lru_cache(maxsize=2)
def _places_statement(scoped: bool) -> Select[Any]:
    """The term lookup of `search_places`, built once (as `_points_statement`)."""
    query = (
        select(
            search_term.c.term,
            search_term.c.kind,
            search_term.c.name,
            search_term.c.detail,
            search_term.c.utility_id,
            search_term.c.path,
            search_term.c.mp_count,
            search_term.c.starts_name,
        )
        .where(_between(search_term.c.term, "term"))
        .order_by(search_term.c.term)
        .limit(bindparam("limit"))
    )
    if scoped:
        query = query.where(search_term.c.utility_id == bindparam("utility_id"))
    return query


def search(conn: Connection, text: str, *, limit: int = 50) -> list[Hit]:
    """Places and metering points for the search dialog, best first: places named
    so, metering points by an identifier, places by a later word of their name,
    metering points by address."""
    places = search_places(conn, text, limit=limit)
    points = search_metering_points(conn, text, limit=limit)
    by_address = [hit for hit in points if hit.matched_on == "address"]
    ordered: list[Hit] = [
        *(hit for hit in places if hit.whole_name),
        *(hit for hit in points if hit.matched_on != "address"),
        *(hit for hit in places if not hit.whole_name),
        *by_address,
    ]
    return ordered[:limit]


def _collect(hits: dict[int, SearchHit], found: list[tuple[str, Any]], limit: int) -> None:
    for label, row in found:
        if len(hits) >= limit:
            return
        if row.id not in hits:
            hits[row.id] = SearchHit(
                row.id,
                row.utility_id,
                row.mp_id,
                f"{row.street} {row.house}, {row.settlement}",
                row.path,
                label,
            )
