"""Cached subtree totals on `node` (metering points, distinct subscribers).

The tree shows them on every row; computing distinct subscribers under
thousands of nodes on each expand would be far too slow at utility scale,
so whatever changes metering points or subscriptions calls `refresh` in the
same transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, func, literal, select, text, update

from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tables import node, subscription


def _upper(path_column: object) -> object:
    # path[:-1] || '0' : '0' follows '/' in byte order (see domain.tree_path).
    return func.substr(path_column, 1, func.length(path_column) - 1).concat(literal("0"))


def refresh(conn: Connection, utility_id: int | None = None) -> None:
    """Recompute both totals for every node (of one utility, if given)."""
    inner = mp.alias("inner_mp")
    in_subtree = and_(inner.c.path >= node.c.path, inner.c.path < _upper(node.c.path))
    mp_total = select(func.count()).select_from(inner).where(in_subtree).scalar_subquery()
    sub_total = (
        select(func.count(func.distinct(subscription.c.subscriber_id)))
        .select_from(inner.join(subscription, subscription.c.mp_id == inner.c.id))
        .where(in_subtree)
        .scalar_subquery()
    )
    stmt = update(node).values(mp_count=mp_total, subscriber_count=sub_total)
    if utility_id is not None:
        stmt = stmt.where(node.c.utility_id == utility_id)
    if conn.dialect.name == "postgresql":
        # Left alone, PostgreSQL answers each node's correlated subquery by
        # hashing every subscription (hours at 1M rows instead of seconds);
        # index range scans per node are what this update needs.
        conn.execute(text("SET LOCAL enable_hashjoin = off"))
        conn.execute(stmt)
        conn.execute(text("RESET enable_hashjoin"))
    else:
        conn.execute(stmt)
