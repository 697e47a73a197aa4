"""Cached per-node totals, so that whole nodes are counted by adding rows up.

Each node keeps subtree totals: metering points, priority metering points,
distinct subscribers with a metering point under it (`node`), and those
subscribers' consenting contacts by channel and language (`node_contacts`).
The tree shows the first and third on every row, and a preview of whole
nodes adds up the selected nodes' rows instead of finding the distinct
subscribers of perhaps 100,000 metering points (hundreds of ms, seconds with
ten operators at once on PostgreSQL).

Exactness. A subscriber is attributed to every node whose subtree holds any
of their metering points, so one node's totals are exact. Selected nodes are
first reduced to disjoint ones (a node under another selected one adds
nothing); metering points then add up exactly, but a subscriber with points
under two selected nodes is in both totals. Such a subscriber has several
metering points, and `shared_subscription` holds the subscriptions of every
subscriber with several (three in ten in the demo, half the subscriptions):
the sum subtracts, for each of them under k > 1 selected nodes, k - 1 from
the subscribers and from each of their consenting contacts. Finding them is
an index range scan of `shared_subscription` per selected node, needed only
when more than one node is selected. Storing the overlap per pair of nodes
instead would be quadratic; detecting a straddler and falling back to the
distinct pass would make the common multi-node selection slow again. The
same rows give the preview its worst-case subscribers (the most points under
the selection) without grouping every subscription of it. A selection with
exclusions or single metering points corrects the sum by the subscribers those
touch (storage.affected), and finds there whether one keeps another point.

Who keeps them right: `refresh` recomputes a utility's totals wherever
metering points, subscriptions, contacts or languages change in bulk
(imports, the demo: nothing else changes the first three), counting from the
shared subscriptions, which `add_shared` (new subscriptions), `follow_moves`
(a metering point moved) and `fill_shared` (a utility at once) keep;
`contacts_changing` wraps every other change of contacts or consent
(opt-outs, SMS sign-ups, START, bot links) and adds the difference to the
nodes above the subscribers concerned, after locking those subscribers so
that two concurrent changes of one subscriber's contacts do not both count
the same difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from dispatch_tui.domain.tree_path import ancestor_ids, outermost
from dispatch_tui.storage.tables import (
    contact,
    node,
    node_contacts,
    shared_subscription,
    subscriber,
    subscription,
)
from dispatch_tui.storage.tables import metering_point as mp

OPTED_IN = "opted_in"
CHUNK = 5000
"""Most ids one statement takes (PostgreSQL allows 65,535 parameters, SQLite 32,766)."""

Bucket = tuple[str, str]
"""(channel, language)"""


def _upper(path_column: ColumnElement[str]) -> ColumnElement[str]:
    # path[:-1] || '0' : '0' follows '/' in byte order (see domain.tree_path).
    return func.substr(path_column, 1, func.length(path_column) - 1).concat(literal("0"))


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# -- bulk: recompute a utility ------------------------------------------------------------


def refresh(conn: Connection, utility_id: int | None = None) -> None:
    """Recompute every total of every node (of one utility, if given), from
    shared subscriptions that are up to date."""
    if conn.dialect.name == "postgresql":
        # A consent change waits until this commits and then adds its difference
        # to what this computed (it could not have seen that change's rows).
        conn.execute(text("LOCK TABLE node_contacts, shared_subscription IN EXCLUSIVE MODE"))
    if utility_id is None:
        ids = list(conn.scalars(select(node.c.utility_id).distinct()))
    else:
        ids = [utility_id]
    for one in ids:
        _refresh_utility(conn, one)


def _refresh_utility(conn: Connection, utility_id: int) -> None:
    """Counted per node holding the points (index scans node by node, no
    subscription counted twice there), then added up the tree in Python; a
    subscriber with points under several nodes is then in the totals of the
    nodes above more than one of them, and is taken out again (`_spread`)."""
    paths = dict(
        conn.execute(select(node.c.id, node.c.path).where(node.c.utility_id == utility_id)).all()
    )
    above = {node_id: ancestor_ids(path) for node_id, path in paths.items()}
    totals = {node_id: [0, 0, 0] for node_id in paths}
    buckets: Counter[tuple[int, str, str]] = Counter()
    leaf = node.alias("leaf")
    of_utility = leaf.c.utility_id == utility_id
    for node_id, count, priority in conn.execute(
        select(mp.c.node_id, func.count(), func.count(case((mp.c.priority, 1))))
        .join(leaf, leaf.c.id == mp.c.node_id)
        .where(of_utility)
        .group_by(mp.c.node_id)
    ):
        for ancestor in above[node_id]:
            totals[ancestor][0] += count
            totals[ancestor][1] += priority
    pairs = (
        select(mp.c.node_id, subscription.c.subscriber_id)
        .distinct()
        .select_from(leaf)
        .join(mp, mp.c.node_id == leaf.c.id)
        .join(subscription, subscription.c.mp_id == mp.c.id)
        .where(of_utility)
        .subquery("pairs")
    )
    for node_id, count in conn.execute(
        select(pairs.c.node_id, func.count()).group_by(pairs.c.node_id)
    ):
        for ancestor in above[node_id]:
            totals[ancestor][2] += count
    for node_id, channel, language, count in conn.execute(
        select(pairs.c.node_id, contact.c.channel, subscriber.c.language, func.count())
        .join(subscriber, subscriber.c.id == pairs.c.subscriber_id)
        .join(
            contact,
            and_(contact.c.subscriber_id == pairs.c.subscriber_id, contact.c.consent == OPTED_IN),
        )
        .group_by(pairs.c.node_id, contact.c.channel, subscriber.c.language)
    ):
        for ancestor in above[node_id]:
            buckets[(ancestor, channel, language)] += count
    for ancestors, sub_buckets in _spread(conn, paths):
        for ancestor, extra in ancestors.items():
            totals[ancestor][2] -= extra
            for (channel, language), n in sub_buckets.items():
                buckets[(ancestor, channel, language)] -= extra * n
    _store(conn, utility_id, totals, buckets)


def _spread(
    conn: Connection, paths: dict[int, str]
) -> Iterator[tuple[Counter[int], Counter[Bucket]]]:
    """Each subscriber with points under several of these nodes, two of them in
    one region: how many times too often each node above them counts them (the
    number of their nodes under it, less one), and their consenting contacts.
    (Under different regions only, no node is above two of their points.)"""
    roots = [path for path in paths.values() if path.count("/") == 2]
    under_roots = or_(false(), *(_under(shared_subscription.c.path, literal(p)) for p in roots))
    leaves: dict[int, set[str]] = {}
    for sub_id, path in conn.execute(
        select(shared_subscription.c.subscriber_id, shared_subscription.c.path).where(under_roots)
    ):
        leaves.setdefault(sub_id, set()).add(path)
    twice: dict[int, Counter[int]] = {}
    for sub_id, held in leaves.items():
        regions = {path.split("/", 2)[1] for path in held}
        if len(held) > 1 and len(regions) < len(held):
            counted: Counter[int] = Counter()
            for path in held:
                counted.update(ancestor_ids(path))
            twice[sub_id] = Counter({node_id: n - 1 for node_id, n in counted.items() if n > 1})
    consenting = _consenting(conn, sorted(twice))
    contacts_of: dict[int, Counter[Bucket]] = {}
    for (sub_id, bucket), n in consenting.items():
        contacts_of.setdefault(sub_id, Counter())[bucket] = n
    for sub_id, extra in twice.items():
        yield extra, contacts_of.get(sub_id, Counter())


def _store(
    conn: Connection,
    utility_id: int,
    totals: dict[int, list[int]],
    buckets: Counter[tuple[int, str, str]],
) -> None:
    current = conn.execute(
        select(node.c.id, node.c.mp_count, node.c.priority_count, node.c.subscriber_count).where(
            node.c.utility_id == utility_id
        )
    )
    changed = [
        {"b_id": node_id, "b_mp": new[0], "b_priority": new[1], "b_subscribers": new[2]}
        for node_id, *old in current
        if old != (new := totals[node_id])
    ]
    if changed:
        conn.execute(
            update(node)
            .where(node.c.id == bindparam("b_id"))
            .values(
                mp_count=bindparam("b_mp"),
                priority_count=bindparam("b_priority"),
                subscriber_count=bindparam("b_subscribers"),
            ),
            changed,
        )
    conn.execute(delete(node_contacts).where(node_contacts.c.node_id.in_(list(totals))))
    rows = [
        {"node_id": node_id, "channel": channel, "language": language, "contacts": n}
        for (node_id, channel, language), n in sorted(buckets.items())
        if n
    ]
    if rows:
        conn.execute(insert(node_contacts), rows)


def follow_moves(conn: Connection, points: Sequence[tuple[int, str, str]]) -> None:
    """Metering points (utility id, mp_id, new path) an import has just changed:
    their shared subscriptions follow them to their new node (`refresh` then
    recounts)."""
    stmt = (
        update(shared_subscription)
        .where(
            shared_subscription.c.mp_id
            == select(mp.c.id)
            .where(mp.c.utility_id == bindparam("b_utility"), mp.c.mp_id == bindparam("b_code"))
            .scalar_subquery(),
            shared_subscription.c.path != bindparam("b_path"),
        )
        .values(path=bindparam("b_path"))
    )
    conn.execute(
        stmt, [{"b_utility": u, "b_code": code, "b_path": path} for u, code, path in points]
    )


def fill_shared(conn: Connection, utility_id: int) -> None:
    """The utility's shared subscriptions, where a whole utility's subscriptions
    were written at once (the demo, the migration that made the table)."""
    _share(conn, subscriber.c.utility_id == utility_id)


def add_shared(conn: Connection, subscriber_ids: Iterable[int]) -> None:
    """The shared subscriptions of subscribers who have just been given metering
    points. Subscriptions are only ever added (a shared row goes with its
    subscriber or metering point, by cascade) and one moves only with its
    metering point (`follow_moves`): `refresh` counts from these rows."""
    ids = sorted(set(subscriber_ids))
    for chunk in _chunks(ids):
        _share(conn, subscriber.c.id.in_(chunk))


def _share(conn: Connection, which: ColumnElement[bool]) -> None:
    several = (
        select(subscription.c.subscriber_id)
        .join(subscriber, subscriber.c.id == subscription.c.subscriber_id)
        .where(which)
        .group_by(subscription.c.subscriber_id)
        .having(func.count() > 1)
        .subquery("several")
    )
    stored = exists().where(
        shared_subscription.c.subscriber_id == subscription.c.subscriber_id,
        shared_subscription.c.mp_id == subscription.c.mp_id,
    )
    conn.execute(
        insert(shared_subscription).from_select(
            ["subscriber_id", "mp_id", "path"],
            select(subscription.c.subscriber_id, subscription.c.mp_id, mp.c.path)
            .join(several, several.c.subscriber_id == subscription.c.subscriber_id)
            .join(mp, mp.c.id == subscription.c.mp_id)
            .where(~stored),
        )
    )


# -- one change at a time: consent and new contacts -----------------------------------------


def subscribers_of(conn: Connection, contact_ids: Iterable[int]) -> list[int]:
    """The subscribers these contacts belong to."""
    ids = sorted(set(contact_ids))
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(conn.scalars(select(contact.c.subscriber_id).where(contact.c.id.in_(chunk))))
    return sorted(found)


def _consenting(conn: Connection, subscriber_ids: Sequence[int]) -> Counter[tuple[int, Bucket]]:
    found: Counter[tuple[int, Bucket]] = Counter()
    for chunk in _chunks(subscriber_ids):
        for sub_id, channel, language, count in conn.execute(
            select(contact.c.subscriber_id, contact.c.channel, subscriber.c.language, func.count())
            .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
            .where(contact.c.subscriber_id.in_(chunk), contact.c.consent == OPTED_IN)
            .group_by(contact.c.subscriber_id, contact.c.channel, subscriber.c.language)
        ):
            found[(sub_id, (channel, language))] = count
    return found


@contextmanager
def contacts_changing(conn: Connection, subscriber_ids: Iterable[int]) -> Iterator[None]:
    """Wrap a change of these subscribers' contacts or consent inside the caller's
    transaction: the nodes above them gain the difference when the block ends."""
    ids = sorted(set(subscriber_ids))
    if not ids:
        yield
        return
    if conn.dialect.name == "postgresql":
        for chunk in _chunks(ids):
            conn.execute(
                select(subscriber.c.id)
                .where(subscriber.c.id.in_(chunk))
                .order_by(subscriber.c.id)
                .with_for_update(key_share=True)
            )
    before = _consenting(conn, ids)
    yield
    after = _consenting(conn, ids)
    after.subtract(before)
    _add(conn, {key: n for key, n in after.items() if n})


def _add(conn: Connection, differences: dict[tuple[int, Bucket], int]) -> None:
    """Add each subscriber's difference per bucket to every node above their points."""
    if not differences:
        return
    above: dict[int, set[int]] = {}
    for chunk in _chunks(sorted({sub_id for sub_id, _ in differences})):
        for sub_id, path in conn.execute(
            select(subscription.c.subscriber_id, mp.c.path)
            .distinct()
            .join(mp, mp.c.id == subscription.c.mp_id)
            .where(subscription.c.subscriber_id.in_(chunk))
        ):
            above.setdefault(sub_id, set()).update(ancestor_ids(path))
    by_node: Counter[tuple[int, str, str]] = Counter()
    for (sub_id, (channel, language)), n in differences.items():
        for node_id in above.get(sub_id, ()):
            by_node[(node_id, channel, language)] += n
    rows = [
        {"node_id": node_id, "channel": channel, "language": language, "contacts": n}
        for (node_id, channel, language), n in sorted(by_node.items())
        if n
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Rows in key order: two transactions adding to the same nodes lock them in one order.
    for start in range(0, len(rows), 1000):
        stmt = dialect.insert(node_contacts).values(rows[start : start + 1000])
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["node_id", "channel", "language"],
                set_={"contacts": node_contacts.c.contacts + stmt.excluded.contacts},
            )
        )


# -- reading: whole nodes as a sum -----------------------------------------------------------


@dataclass(frozen=True)
class NodeSums:
    metering_points: int
    priority_metering_points: int
    subscribers: int
    contacts: dict[Bucket, int] = field(default_factory=dict)


def sum_nodes(conn: Connection, node_ids: Iterable[int]) -> NodeSums:
    """The totals of these whole nodes together, each subscriber counted once."""
    rows = conn.execute(
        select(
            node.c.id, node.c.path, node.c.mp_count, node.c.priority_count, node.c.subscriber_count
        ).where(node.c.id.in_(sorted(set(node_ids))))
    ).all()
    outer = outermost({row.path for row in rows})
    kept = [row for row in rows if row.path in outer]
    if not kept:
        return NodeSums(0, 0, 0, {})
    ids = sorted(row.id for row in kept)
    contacts: Counter[Bucket] = Counter()
    for channel, language, n in conn.execute(
        select(
            node_contacts.c.channel, node_contacts.c.language, func.sum(node_contacts.c.contacts)
        )
        .where(node_contacts.c.node_id.in_(ids))
        .group_by(node_contacts.c.channel, node_contacts.c.language)
    ):
        contacts[(channel, language)] += int(n)
    subscribers = sum(row.subscriber_count for row in kept)
    if len(kept) > 1:
        twice, twice_contacts = _counted_twice(conn, ids)
        subscribers -= twice
        contacts.subtract(twice_contacts)
    return NodeSums(
        metering_points=sum(row.mp_count for row in kept),
        priority_metering_points=sum(row.priority_count for row in kept),
        subscribers=subscribers,
        contacts={bucket: n for bucket, n in contacts.items() if n},
    )


def _counted_twice(conn: Connection, node_ids: list[int]) -> tuple[int, Counter[Bucket]]:
    """How many times too often the sum over these disjoint nodes counts
    subscribers, and their consenting contacts per bucket: a subscriber under
    k of them is in k totals."""
    chosen = node.alias("chosen")
    over = (
        select(
            shared_subscription.c.subscriber_id,
            (func.count(chosen.c.id.distinct()) - 1).label("extra"),
        )
        .select_from(chosen)
        .join(shared_subscription, _under(shared_subscription.c.path, chosen.c.path))
        .where(chosen.c.id.in_(node_ids))
        .group_by(shared_subscription.c.subscriber_id)
        .having(func.count(chosen.c.id.distinct()) > 1)
        .cte("over")
        .prefix_with("MATERIALIZED")
    )
    extra = select(func.coalesce(func.sum(over.c.extra), 0)).scalar_subquery()
    rows = conn.execute(
        select(contact.c.channel, subscriber.c.language, func.sum(over.c.extra), extra)
        .select_from(
            over.outerjoin(subscriber, subscriber.c.id == over.c.subscriber_id).outerjoin(
                contact,
                and_(
                    contact.c.subscriber_id == over.c.subscriber_id,
                    contact.c.consent == OPTED_IN,
                ),
            )
        )
        .group_by(contact.c.channel, subscriber.c.language)
    ).all()
    twice = int(rows[0][3]) if rows else 0
    buckets: Counter[Bucket] = Counter()
    for channel, language, n, _ in rows:
        if channel is not None:
            buckets[(channel, language)] += int(n)
    return twice, buckets


def _under(path: ColumnElement[str], node_path: ColumnElement[str]) -> ColumnElement[bool]:
    return and_(path >= node_path, path < _upper(node_path))


def top_subscribers(conn: Connection, where: ColumnElement[bool], limit: int) -> list[int] | None:
    """The `limit` subscribers with the most affected metering points (most first,
    then by id), found among those with several points, `where` being the
    selection's condition on `shared_subscription`'s path and point; None when
    fewer than `limit` have more than one there (any single-point one could then
    be among them)."""
    top = conn.execute(
        select(shared_subscription.c.subscriber_id, func.count())
        .where(where)
        .group_by(shared_subscription.c.subscriber_id)
        .having(func.count() > 1)
        .order_by(func.count().desc(), shared_subscription.c.subscriber_id)
        .limit(limit)
    ).all()
    return [row[0] for row in top] if len(top) == limit else None
