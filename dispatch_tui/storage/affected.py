"""Who an outage affects: the set-based counts for the preview and the
streaming list of subscribers with their addresses for fan-out.

Every subtree is a path range on `metering_point.path`, so a selection of
any size turns into a handful of index range scans; the counting and the
grouping stay in SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    union_all,
)

from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.tree_path import is_under, outermost, subtree_range
from dispatch_tui.storage import counts
from dispatch_tui.storage.db import among
from dispatch_tui.storage.tables import (
    contact,
    node,
    shared_subscription,
    subscriber,
    subscription,
)
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


@dataclass(frozen=True)
class Scope:
    """A selection with the paths of its nodes read (one query), so that its WHERE
    clause can be put on any table that carries a metering point's path and id.
    Only paths: the public web's role, which lists outages by this clause, may
    read no more of `node`."""

    selection: Selection
    paths: dict[int, str]
    """Of the selected and excluded nodes, by id."""

    def _paths(self, ids: frozenset[int]) -> list[str]:
        return sorted(outermost({self.paths[i] for i in ids if i in self.paths}))

    @property
    def selected_paths(self) -> list[str]:
        return self._paths(self.selection.nodes)

    @property
    def excluded_paths(self) -> list[str]:
        return self._paths(self.selection.excluded_nodes)

    def condition(
        self, path: ColumnElement[str] = mp.c.path, point: ColumnElement[int] = mp.c.id
    ) -> ColumnElement[bool]:
        """Exactly the affected rows of a table whose `path` and `point` are a
        metering point's (metering_point itself by default)."""
        selection = self.selection
        included = _in_any_subtree(path, self.selected_paths)
        if selection.metering_points:
            included = or_(included, point.in_(sorted(selection.metering_points)))
        condition = included
        excluded = self.excluded_paths
        if excluded:
            condition = and_(condition, not_(_in_any_subtree(path, excluded)))
        if selection.excluded_metering_points:
            condition = and_(condition, point.not_in(sorted(selection.excluded_metering_points)))
        return condition

    def on_shared_subscriptions(self) -> ColumnElement[bool]:
        """The affected rows of `shared_subscription` (storage.counts)."""
        return self.condition(shared_subscription.c.path, shared_subscription.c.mp_id)


def scope_of(conn: Connection, selection: Selection) -> Scope:
    ids = selection.nodes | selection.excluded_nodes
    if not ids:
        return Scope(selection, {})
    rows = conn.execute(select(node.c.id, node.c.path).where(node.c.id.in_(sorted(ids))))
    return Scope(selection, {row.id: row.path for row in rows})


def _in_any_subtree(path: ColumnElement[str], paths: list[str]) -> ColumnElement[bool]:
    ranges = [and_(path >= lo, path < hi) for lo, hi in map(subtree_range, paths)]
    return or_(false(), *ranges)


def affected_condition(conn: Connection, selection: Selection) -> ColumnElement[bool]:
    """WHERE clause on `metering_point` selecting exactly the affected rows."""
    return scope_of(conn, selection).condition()


def affected_metering_points(conn: Connection, selection: Selection) -> Select[tuple[int]]:
    return select(mp.c.id).where(affected_condition(conn, selection))


def affected_counts(conn: Connection, selection: Selection) -> AffectedCounts:
    """Metering points, distinct subscribers and consenting contacts per
    (channel, language) of a selection: for whole nodes a sum of their cached
    totals (storage.counts); with exclusions or single points, that sum
    corrected by the subscribers the exceptions touch when they are the smaller
    part; otherwise the distinct-subscriber pass."""
    if selection.is_empty:
        return AffectedCounts(0, 0, 0, {})
    if whole_nodes(selection):
        return _summed(counts.sum_nodes(conn, selection.nodes))
    scope = scope_of(conn, selection)
    return _corrected(conn, scope) or _counted(conn, scope.condition())


def _summed(sums: counts.NodeSums) -> AffectedCounts:
    return AffectedCounts(
        sums.metering_points, sums.priority_metering_points, sums.subscribers, sums.contacts
    )


def whole_nodes(selection: Selection) -> bool:
    """Whether the selection is whole nodes only (no single points, no exclusions)."""
    return not (
        selection.metering_points or selection.excluded_nodes or selection.excluded_metering_points
    )


def _corrected(conn: Connection, scope: Scope) -> AffectedCounts | None:
    """The sum over the selected nodes, corrected by what the exceptions change.

    A point is lost (selected, but excluded by a node or singly) or gained (a
    single point outside the selected nodes); every other point is affected
    exactly when it is under a selected node. So only the subscribers with a
    lost or a gained point change, and only if they have no other point under
    the selected nodes: such a point is in `shared_subscription`, which holds
    the points of every subscriber with several. Without single points only
    whole subtrees are lost, and `_less_subtrees` counts them from their totals.
    None when the lost and gained points would outnumber the affected ones (the
    distinct pass over the affected points is then the shorter way)."""
    selection = scope.selection
    selected = scope.selected_paths
    if not selected:
        return None
    excluded = scope.excluded_paths
    taken = sorted(
        outermost(
            {e for e in excluded if any(is_under(e, n) for n in selected)}
            | {n for n in selected if any(is_under(n, e) for e in excluded)}
        )
    )
    sums = counts.sum_nodes(conn, selection.nodes)
    singles = len(selection.metering_points) + len(selection.excluded_metering_points)
    if not singles:
        return _less_subtrees(conn, scope, taken, sums)
    taken_size = 0
    if taken:
        taken_size = conn.execute(
            select(func.sum(node.c.mp_count)).where(node.c.path.in_(taken))
        ).scalar_one()
    if _recount_is_shorter(taken_size + singles, sums.metering_points - taken_size):
        return None

    def lost_on(path: ColumnElement[str], point: ColumnElement[int]) -> ColumnElement[bool]:
        lost = _in_any_subtree(path, taken)
        if selection.excluded_metering_points:
            singly = point.in_(sorted(selection.excluded_metering_points))
            lost = or_(lost, and_(singly, _in_any_subtree(path, selected)))
        return lost

    lost = lost_on(mp.c.path, mp.c.id)
    gained: ColumnElement[bool] = false()
    if selection.metering_points:
        gained = and_(
            mp.c.id.in_(sorted(selection.metering_points)),
            not_(_in_any_subtree(mp.c.path, selected)),
            scope.condition(),
        )
    change = case((lost, -1), else_=1)
    points, priority = conn.execute(
        select(
            func.coalesce(func.sum(change), 0),
            func.coalesce(func.sum(case((mp.c.priority, change), else_=0)), 0),
        ).where(or_(lost, gained))
    ).one()
    changed = _changed_subscribers(
        conn,
        lost,
        gained,
        still_in=and_(
            _in_any_subtree(shared_subscription.c.path, selected),
            not_(lost_on(shared_subscription.c.path, shared_subscription.c.mp_id)),
        ),
    )
    subscriber_change, contact_change = _with_contacts(conn, changed, changed.c.change)
    return _changed_by(sums, int(points), int(priority), subscriber_change, contact_change)


def _recount_is_shorter(touched: int, remaining: int) -> bool:
    """Whether counting the remaining affected points anew (the distinct pass) beats
    correcting the sum by the points the exceptions touch."""
    return touched > remaining


def _changed_by(
    sums: counts.NodeSums,
    points: int,
    priority: int,
    subscribers: int,
    contacts: Counter[tuple[str, str]],
) -> AffectedCounts:
    """The sum over the selected nodes with these differences added."""
    total = Counter(sums.contacts)
    total.update(contacts)
    return AffectedCounts(
        metering_points=sums.metering_points + points,
        priority_metering_points=sums.priority_metering_points + priority,
        subscribers=sums.subscribers + subscribers,
        contacts={bucket: n for bucket, n in total.items() if n},
    )


def _less_subtrees(
    conn: Connection, scope: Scope, taken: list[str], sums: counts.NodeSums
) -> AffectedCounts | None:
    """Whole nodes less whole subtrees under them (no single points): the sum over
    the selected nodes less the sum over the `taken` subtrees, plus the subscribers
    both sums count, those with points on either side of the cut. Having several
    points, they are all in `shared_subscription`: a range scan of the cut's shared
    rows, instead of finding the subscribers of every point cut out."""
    taken_ids = [i for i, path in scope.paths.items() if path in taken]
    if not taken_ids:
        return _summed(sums)  # every excluded node lies outside the selected ones
    cut = counts.sum_nodes(conn, taken_ids)
    if _recount_is_shorter(cut.metering_points, sums.metering_points - cut.metering_points):
        return None
    selected = scope.selected_paths
    shared = shared_subscription.c
    cut_off = select(shared.subscriber_id).where(_in_any_subtree(shared.path, taken))
    both = (
        select(shared.subscriber_id)
        .distinct()
        .where(
            among(conn, shared.subscriber_id, cut_off),
            _in_any_subtree(shared.path, selected),
            not_(_in_any_subtree(shared.path, taken)),
        )
        .cte("on_both_sides")
        .prefix_with("MATERIALIZED")
    )
    both_count, both_contacts = _with_contacts(conn, both, literal_column("1"))
    both_contacts.subtract(cut.contacts)
    return _changed_by(
        sums,
        -cut.metering_points,
        -cut.priority_metering_points,
        both_count - cut.subscribers,
        both_contacts,
    )


def _changed_subscribers(
    conn: Connection,
    lost: ColumnElement[bool],
    gained: ColumnElement[bool],
    still_in: ColumnElement[bool],
) -> CTE:
    """(subscriber_id, change): -1 for each subscriber with a `lost` point, +1 for
    each with a `gained` one, unless they have both or a `shared_subscription` row
    `still_in` the selection. The few lost or gained points drive the pass, each
    row looked up by key."""
    holders = {
        name: select(subscription.c.subscriber_id)
        .distinct()
        .where(among(conn, subscription.c.mp_id, select(mp.c.id).where(which)))
        .cte(name)
        .prefix_with("MATERIALIZED")
        for name, which in (("losing", lost), ("gaining", gained))
    }
    losing, gaining = holders["losing"], holders["gaining"]
    parts = [
        select(this.c.subscriber_id, literal_column(str(sign)).label("change")).where(
            this.c.subscriber_id.not_in(select(that.c.subscriber_id)),
            ~select(shared_subscription.c.subscriber_id)
            .where(shared_subscription.c.subscriber_id == this.c.subscriber_id, still_in)
            .exists(),
        )
        for this, that, sign in ((losing, gaining, -1), (gaining, losing, 1))
    ]
    return union_all(*parts).cte("changed_subscribers").prefix_with("MATERIALIZED")


def _with_contacts(
    conn: Connection, subscribers: CTE, weight: ColumnElement[int]
) -> tuple[int, Counter[tuple[str, str]]]:
    """The weighted number of these subscribers and of their consenting contacts
    per (channel, language), in one pass over them. Each subscriber's language is
    looked up by key: joined, PostgreSQL merged a few thousand subscribers with
    the whole table (700k rows, 75 ms), having no statistics on a materialized
    set."""
    total = select(func.coalesce(func.sum(weight), 0)).select_from(subscribers).scalar_subquery()
    language = (
        select(subscriber.c.language)
        .where(subscriber.c.id == subscribers.c.subscriber_id)
        .scalar_subquery()
    )
    who = select(
        subscribers.c.subscriber_id, weight.label("weight"), language.label("language")
    ).subquery("who")
    rows = conn.execute(
        select(contact.c.channel, who.c.language, func.sum(who.c.weight), total)
        .select_from(
            who.outerjoin(
                contact,
                and_(contact.c.subscriber_id == who.c.subscriber_id, contact.c.consent == OPTED_IN),
            )
        )
        .group_by(contact.c.channel, who.c.language)
    ).all()
    found: Counter[tuple[str, str]] = Counter()
    for channel, language_code, n, _ in rows:
        if channel is not None:
            found[(channel, language_code)] += int(n)
    return (int(rows[0][3]) if rows else 0), found


def counted_affected(conn: Connection, selection: Selection) -> AffectedCounts:
    """`affected_counts` by finding the distinct subscribers of every affected point."""
    if selection.is_empty:
        return AffectedCounts(0, 0, 0, {})
    return _counted(conn, affected_condition(conn, selection))


def _counted(conn: Connection, condition: ColumnElement[bool]) -> AffectedCounts:
    mp_total, priority = conn.execute(
        select(func.count(), func.count(case((mp.c.priority, 1)))).where(condition)
    ).one()
    subscribers = (
        select(subscription.c.subscriber_id)
        .distinct()
        .join(mp, mp.c.id == subscription.c.mp_id)
        .where(condition)
        .cte("affected_subscribers")
        .prefix_with("MATERIALIZED")
    )
    total, contacts = _with_contacts(conn, subscribers, literal_column("1"))
    return AffectedCounts(
        metering_points=mp_total,
        priority_metering_points=priority,
        subscribers=total,
        contacts=dict(contacts),
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
