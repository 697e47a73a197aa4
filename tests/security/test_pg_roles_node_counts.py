"""The per-node totals on PostgreSQL (migration 0023): those who change consent add to
them through storage as their own roles, and nobody else writes them. A viewer with
psql cannot touch them; a dispatcher cannot rebuild or delete them (only admins, who
import, do); nobody but an admin writes the shared subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import inbound, subscribers
from dispatch_tui.storage.affected import affected_counts, counted_affected
from dispatch_tui.storage.tables import contact
from tests.security.pg_roles import ANA, SENDER, VIKTOR, Cluster, cluster

__all__ = ["cluster"]

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def refused(db: Engine, statement: str) -> None:
    with pytest.raises(DBAPIError, match="permission denied"), db.begin() as conn:
        conn.execute(text(statement))


def exact(engine: Engine, node_id: int) -> None:
    selection = Selection(nodes=frozenset({node_id}))
    with engine.connect() as conn:
        assert affected_counts(conn, selection) == counted_affected(conn, selection)


def test_consent_changes_keep_the_totals_as_their_own_roles(
    cluster: Cluster, engine: Engine
) -> None:
    with engine.connect() as conn:
        someone = conn.execute(select(contact.c.id).order_by(contact.c.id)).scalars().first()
    assert someone is not None
    subscribers.record_opt_out(cluster.as_role(ANA), someone, actor=ANA, reason="by phone")
    exact(engine, cluster.ids["EG-R1"])
    inbound.handle_inbound(
        cluster.as_role(SENDER),
        sender="+38641999888",
        receiver="1",
        text="6-100003 prijava",
        now=datetime.now(UTC),
    )
    exact(engine, cluster.ids["EG-R1"])


def test_nobody_but_admins_rewrites_the_totals(cluster: Cluster) -> None:
    viewer, dispatcher = cluster.as_role(VIKTOR), cluster.as_role(ANA)
    refused(viewer, "UPDATE node_contacts SET contacts = contacts + 1000")
    refused(viewer, "INSERT INTO node_contacts VALUES (1, 'sms', 'sl', 1000)")
    refused(dispatcher, "DELETE FROM node_contacts")
    refused(dispatcher, "UPDATE node SET subscriber_count = 0")
    for role in (viewer, dispatcher, cluster.as_role(SENDER)):
        refused(role, "DELETE FROM shared_subscription")
        refused(role, "INSERT INTO shared_subscription VALUES (1, 1, '/1/')")
