"""Reading the network tree a page at a time.

A node's children are its child nodes (sorted by name) followed by the
metering points directly under it (sorted by address); the tree widget
asks for one page and shows "… N more" for the rest, so a transformer
station with 5,000 metering points never loads at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, exists, func, select

from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tables import node, subscription, utility


@dataclass(frozen=True)
class UtilityRow:
    id: int
    code: str
    name: str
    country: str
    timezone: str
    language: str


@dataclass(frozen=True)
class TreeEntry:
    """One row of the tree: a node or a metering point (`kind == "mp"`)."""

    kind: str
    id: int
    code: str
    label: str
    mp_count: int
    subscriber_count: int
    has_children: bool
    priority: bool = False


@dataclass(frozen=True)
class Page:
    entries: list[TreeEntry]
    offset: int
    total: int

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.offset - len(self.entries))


def list_utilities(conn: Connection) -> list[UtilityRow]:
    rows = conn.execute(
        select(
            utility.c.id,
            utility.c.code,
            utility.c.name,
            utility.c.country,
            utility.c.timezone,
            utility.c.language,
        ).order_by(utility.c.name)
    )
    return [UtilityRow(*row) for row in rows]


def _node_page(
    conn: Connection, utility_id: int, parent_id: int | None, offset: int, limit: int
) -> list[TreeEntry]:
    child = node.alias("child")
    has_child_nodes = exists().where(child.c.parent_id == node.c.id)
    parent_match = node.c.parent_id == parent_id if parent_id else node.c.parent_id.is_(None)
    rows = conn.execute(
        select(
            node.c.kind,
            node.c.id,
            node.c.code,
            node.c.name,
            node.c.mp_count,
            node.c.subscriber_count,
            has_child_nodes,
        )
        .where(node.c.utility_id == utility_id, parent_match)
        .order_by(node.c.name, node.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [
        TreeEntry(kind, id_, code, name, mps, subs, bool(more) or mps > 0)
        for kind, id_, code, name, mps, subs, more in rows
    ]


def _mp_page(conn: Connection, parent_id: int, offset: int, limit: int) -> list[TreeEntry]:
    page = (
        select(mp.c.id, mp.c.mp_id, mp.c.street, mp.c.house, mp.c.settlement, mp.c.priority)
        .where(mp.c.node_id == parent_id)
        .order_by(mp.c.mp_id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    subscribers = (
        select(func.count())
        .where(subscription.c.mp_id == page.c.id)
        .correlate(page)
        .scalar_subquery()
    )
    rows = conn.execute(select(page, subscribers).order_by(page.c.mp_id))
    return [
        TreeEntry("mp", id_, code, f"{code}  {street} {house}, {settlement}", 1, subs, False, prio)
        for id_, code, street, house, settlement, prio, subs in rows
    ]


def children(
    conn: Connection, utility_id: int, parent_id: int | None, *, offset: int = 0, limit: int = 200
) -> Page:
    """One page of the children of `parent_id` (None: the utility's top level)."""
    parent_match = node.c.parent_id == parent_id if parent_id else node.c.parent_id.is_(None)
    node_total = conn.execute(
        select(func.count()).where(node.c.utility_id == utility_id, parent_match)
    ).scalar_one()
    mp_total = 0
    if parent_id is not None:
        mp_total = conn.execute(select(func.count()).where(mp.c.node_id == parent_id)).scalar_one()
    entries: list[TreeEntry] = []
    if offset < node_total:
        entries = _node_page(conn, utility_id, parent_id, offset, limit)
    if parent_id is not None and len(entries) < limit and offset + len(entries) >= node_total:
        mp_offset = max(0, offset - node_total)
        entries += _mp_page(conn, parent_id, mp_offset, limit - len(entries))
    return Page(entries, offset, node_total + mp_total)
