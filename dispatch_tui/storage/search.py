"""Finding metering points by what an operator has at hand: the metering
point id, an address, the EIC code, the meter number or the customer's
account number, each matched as a prefix.

Each field is one index range scan with a LIMIT, so a search stays a few
milliseconds over a million metering points whatever is typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, select

from dispatch_tui.domain.text import fold, prefix_upper_bound
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tables import subscriber, subscription


@dataclass(frozen=True)
class SearchHit:
    id: int
    utility_id: int
    mp_id: str
    address: str
    path: str
    matched_on: str


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


def _collect(hits: dict[int, SearchHit], rows: object, label: str, limit: int) -> None:
    for id_, utility_id, mp_id, street, house, settlement, path in rows:  # type: ignore[attr-defined]
        if len(hits) >= limit:
            return
        if id_ not in hits:
            hits[id_] = SearchHit(
                id_, utility_id, mp_id, f"{street} {house}, {settlement}", path, label
            )
