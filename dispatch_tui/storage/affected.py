"""Who an outage affects: the set-based counts for the preview and the
streaming list of subscribers with their addresses for fan-out.

Every subtree is a path range on `metering_point.path`, so a selection of
any size turns into a handful of index range scans; the counting and the
grouping stay in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    false,
    func,
    not_,
    or_,
    select,
)

from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.tree_path import subtree_range
from dispatch_tui.storage import counts
from dispatch_tui.storage.tables import contact, node, subscriber, subscription
from dispatch_tui.storage.tables import metering_point as mp

OPTED_IN = "opted_in"


@dataclass(frozen=True)
class AffectedCounts:
    metering_points: int
    priority_metering_points: int
    subscribers: int
    contacts: dict[tuple[str, str], int] = field(default_factory=dict)
    """Consenting contacts by (channel, language)."""

    def by_channel(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (channel, _language), count in self.contacts.items():
            totals[channel] = totals.get(channel, 0) + count
        return totals

    def by_language(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (_channel, language), count in self.contacts.items():
            totals[language] = totals.get(language, 0) + count
        return totals


@dataclass(frozen=True)
class AffectedAddress:
    mp_id: str
    settlement: str
    street: str
    house: str


@dataclass(frozen=True)
class AffectedSubscriber:
    subscriber_id: int
    language: str
    addresses: tuple[AffectedAddress, ...]


def _paths(conn: Connection, node_ids: frozenset[int]) -> list[str]:
    if not node_ids:
        return []
    return list(conn.scalars(select(node.c.path).where(node.c.id.in_(sorted(node_ids)))))


def _in_any_subtree(paths: list[str]) -> ColumnElement[bool]:
    ranges = [and_(mp.c.path >= lo, mp.c.path < hi) for lo, hi in map(subtree_range, paths)]
    return or_(false(), *ranges)


def affected_condition(conn: Connection, selection: Selection) -> ColumnElement[bool]:
    """WHERE clause on `metering_point` selecting exactly the affected rows."""
    included = _in_any_subtree(_paths(conn, selection.nodes))
    if selection.metering_points:
        included = or_(included, mp.c.id.in_(sorted(selection.metering_points)))
    condition = included
    excluded_paths = _paths(conn, selection.excluded_nodes)
    if excluded_paths:
        condition = and_(condition, not_(_in_any_subtree(excluded_paths)))
    if selection.excluded_metering_points:
        condition = and_(condition, mp.c.id.not_in(sorted(selection.excluded_metering_points)))
    return condition


def affected_metering_points(conn: Connection, selection: Selection) -> Select[tuple[int]]:
    return select(mp.c.id).where(affected_condition(conn, selection))


def affected_counts(conn: Connection, selection: Selection) -> AffectedCounts:
    """Metering points, distinct subscribers and consenting contacts per
    (channel, language) of a selection: for whole nodes a sum of their cached
    totals (storage.counts), otherwise the distinct-subscriber pass."""
    if selection.is_empty:
        return AffectedCounts(0, 0, 0, {})
    if whole_nodes(selection):
        sums = counts.sum_nodes(conn, selection.nodes)
        return AffectedCounts(
            sums.metering_points, sums.priority_metering_points, sums.subscribers, sums.contacts
        )
    return counted_affected(conn, selection)


def whole_nodes(selection: Selection) -> bool:
    """Whether the selection is whole nodes only (no single points, no exclusions)."""
    return not (
        selection.metering_points or selection.excluded_nodes or selection.excluded_metering_points
    )


def counted_affected(conn: Connection, selection: Selection) -> AffectedCounts:
    """`affected_counts` by finding the distinct subscribers: three set-based queries."""
    if selection.is_empty:
        return AffectedCounts(0, 0, 0, {})
    condition = affected_condition(conn, selection)
    mp_total, priority = conn.execute(
        select(func.count(), func.count(case((mp.c.priority, 1)))).where(condition)
    ).one()
    subs = (
        select(subscription.c.subscriber_id)
        .distinct()
        .join(mp, mp.c.id == subscription.c.mp_id)
        .where(condition)
        .cte("affected_subscribers")
        .prefix_with("MATERIALIZED")
    )
    # One pass over the distinct subscribers gives both their number and
    # their consenting contacts per (channel, language); the outer joins keep
    # the subscribers as the driving side, which the planner cannot guess for
    # a materialized set it has no statistics on.
    total = select(func.count()).select_from(subs).scalar_subquery()
    rows = conn.execute(
        select(contact.c.channel, subscriber.c.language, func.count(contact.c.id), total)
        .select_from(
            subs.outerjoin(subscriber, subscriber.c.id == subs.c.subscriber_id).outerjoin(
                contact,
                and_(
                    contact.c.subscriber_id == subs.c.subscriber_id, contact.c.consent == OPTED_IN
                ),
            )
        )
        .group_by(contact.c.channel, subscriber.c.language)
    ).all()
    subscriber_total = rows[0][3] if rows else 0
    contacts = {
        (channel, language): count for channel, language, count, _ in rows if channel is not None
    }
    return AffectedCounts(
        metering_points=mp_total,
        priority_metering_points=priority,
        subscribers=subscriber_total,
        contacts=contacts,
    )


def iter_affected_subscribers(
    conn: Connection, selection: Selection, *, batch_size: int = 2000
) -> Iterator[AffectedSubscriber]:
    """Each affected subscriber once, with all their affected addresses.

    Streams (server-side cursor on PostgreSQL) so that a notice to 100,000
    people never holds them all in memory; rows arrive ordered by
    subscriber so one pass groups them.
    """
    if selection.is_empty:
        return
    stmt = (
        select(
            subscription.c.subscriber_id,
            subscriber.c.language,
            mp.c.mp_id,
            mp.c.settlement,
            mp.c.street,
            mp.c.house,
        )
        .select_from(mp)
        .join(subscription, subscription.c.mp_id == mp.c.id)
        .join(subscriber, subscriber.c.id == subscription.c.subscriber_id)
        .where(affected_condition(conn, selection))
        .order_by(subscription.c.subscriber_id, mp.c.settlement, mp.c.street, mp.c.house)
    )
    result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(stmt)
    current: int | None = None
    language = ""
    addresses: list[AffectedAddress] = []
    for sub_id, lang, mp_code, settlement, street, house in result:
        if sub_id != current:
            if current is not None:
                yield AffectedSubscriber(current, language, tuple(addresses))
            current, language, addresses = sub_id, lang, []
        addresses.append(AffectedAddress(mp_code, settlement, street, house))
    if current is not None:
        yield AffectedSubscriber(current, language, tuple(addresses))
