"""Finding a place in the network by what an operator has at hand.

Places (areas, substations, feeders, transformer stations by name or code;
settlements and streets) by a prefix of any word of their name, from
`search_term`; metering points by id, address, EIC code, meter number or the
customer's account number, each matched as a prefix. "Prešernova 5" finds
the houses numbered 5 on the streets whose name starts with "Prešernova".

Each field is one index range scan with a LIMIT, so a search stays a few
milliseconds over a million metering points whatever is typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, select

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


def _prefix(column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    return (column >= prefix) & (column < prefix_upper_bound(prefix))


def _id_prefixes(text: str) -> list[str]:
    """The typed text, plus "6-123" for "6123" (ids are often typed without the dash)."""
    upper = text.upper()
    candidates = [upper]
    if re.fullmatch(r"\d{2,}", upper):
        candidates.append(f"{upper[0]}-{upper[1:]}")
    return candidates


def search_metering_points(
    conn: Connection, text: str, *, limit: int = 50, utility_id: int | None = None
) -> list[SearchHit]:
    """Metering points matching `text`, best kind of match first."""
    text = " ".join(text.split())
    if not text:
        return []
    columns = (
        mp.c.id,
        mp.c.utility_id,
        mp.c.mp_id,
        mp.c.street,
        mp.c.house,
        mp.c.settlement,
        mp.c.path,
    )
    scope = [mp.c.utility_id == utility_id] if utility_id is not None else []
    queries: list[tuple[str, ColumnElement[bool]]] = [
        *(("metering point", _prefix(mp.c.mp_id, p)) for p in _id_prefixes(text)),
        ("EIC", _prefix(mp.c.eic, text.upper())),
        ("meter number", _prefix(mp.c.meter_number, text.upper())),
        ("address", _prefix(mp.c.search_key, fold(text))),
    ]
    hits: dict[int, SearchHit] = {}
    for label, condition in queries:
        if len(hits) >= limit:
            break
        rows = conn.execute(select(*columns).where(condition, *scope).limit(limit))
        _collect(hits, rows, label, limit)
    if len(hits) < limit:
        for street, house in _streets_with_house(conn, text, utility_id):
            condition = _prefix(mp.c.search_key, fold(f"{street} {house}"))
            rows = conn.execute(select(*columns).where(condition, *scope).limit(limit))
            _collect(hits, rows, "address", limit)
    if len(hits) < limit:
        accounts = (
            select(subscription.c.mp_id)
            .join(subscriber, subscriber.c.id == subscription.c.subscriber_id)
            .where(_prefix(subscriber.c.account, text.replace(" ", "")))
            .limit(limit)
            .scalar_subquery()
        )
        rows = conn.execute(select(*columns).where(mp.c.id.in_(accounts), *scope))
        _collect(hits, rows, "account", limit)
    return list(hits.values())


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
    scope = [search_term.c.utility_id == utility_id] if utility_id is not None else []
    rows = conn.execute(
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
        .where(_prefix(search_term.c.term, query), *scope)
        .order_by(search_term.c.term)
        .limit(limit * CANDIDATES)
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


def _collect(hits: dict[int, SearchHit], rows: object, label: str, limit: int) -> None:
    for id_, utility_id, mp_id, street, house, settlement, path in rows:  # type: ignore[attr-defined]
        if len(hits) >= limit:
            return
        if id_ not in hits:
            hits[id_] = SearchHit(
                id_, utility_id, mp_id, f"{street} {house}, {settlement}", path, label
            )
