"""The change signals of migration 0014: a write raises its topic in its own
transaction (SQLite: the counter; PostgreSQL: NOTIFY at commit, never for a
rollback); operator roles raise it by writing, a viewer hears it and cannot
fake a count; a shift lead is only called to outages they may decide."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError

from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import changes, outage_lifecycle, users
from dispatch_tui.storage.outages import awaiting_approval
from dispatch_tui.storage.tables import node, outage, utility
from tests.security.pg_roles import ANA, VIKTOR, Cluster, cluster
from tests.storage.csvdata import load_all

__all__ = ["cluster"]

START = datetime(2031, 6, 3, 6, 0, tzinfo=UTC)
QUIET = 0.3
"""Long enough for a notification that was sent to have arrived."""


def draft_of(engine: Engine, title: str = "Zamenjava TP") -> OutageDraft:
    with engine.connect() as conn:
        eg = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
        region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
    return OutageDraft(
        utility_id=eg,
        title=title,
        reason="vzdrževalna dela",
        starts_at=START,
        ends_at=START + timedelta(hours=4),
        selection=Selection(nodes=frozenset({region})),
    )


def operators(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    for login, role in (("ana", "dispatcher"), ("bohdan", "shift_lead"), ("olena", "shift_lead")):
        users.add_operator(engine, login, role, actor="root")


def counters(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return changes.versions(conn)


def test_sqlite_counts_each_topic_in_the_writing_transaction(
    engine: Engine, backend: str, tmp_path: Path
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL notifies instead of counting")
    operators(engine, tmp_path)
    before = counters(engine)
    assert set(before) == changes.TOPICS
    outage_id = outage_lifecycle.create_draft(engine, draft_of(engine), actor="ana")
    drafted = counters(engine)
    assert drafted["outages"] > before["outages"] and drafted["audit"] > before["audit"]
    with engine.connect() as conn:
        awaiting_approval(conn, "bohdan")
    assert counters(engine) == drafted, "reading changes nothing"
    with engine.connect() as conn, conn.begin() as transaction:
        conn.execute(update(outage).where(outage.c.id == outage_id).values(title="x"))
        transaction.rollback()
    assert counters(engine) == drafted, "a rolled-back write is not counted"


async def test_postgresql_notifies_at_commit_only(
    engine: Engine, backend: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no LISTEN/NOTIFY: it counts")
    operators(engine, tmp_path)
    async with changes.listen(engine) as listener:
        await asyncio.to_thread(
            outage_lifecycle.create_draft, engine, draft_of(engine), actor="ana"
        )
        heard = await asyncio.wait_for(listener.changed(), 5)
        assert heard == {"outages", "audit"}

        def rolled_back() -> None:
            with engine.connect() as conn, conn.begin() as transaction:
                conn.execute(update(outage).values(title="x"))
                transaction.rollback()

        await asyncio.to_thread(rolled_back)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(listener.changed(), QUIET)


async def test_operator_roles_raise_the_signal_and_a_viewer_hears_it(cluster: Cluster) -> None:
    viewer, dispatcher = cluster.as_role(VIKTOR), cluster.as_role(ANA)
    with viewer.connect() as conn:
        assert changes.versions(conn) == {"outages": 0, "audit": 0}
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("UPDATE change_counter SET version = version + 1"))
    async with changes.listen(viewer) as listener:
        draft = draft_of(dispatcher)
        await asyncio.to_thread(outage_lifecycle.create_draft, dispatcher, draft, actor=ANA)
        assert await asyncio.wait_for(listener.changed(), 5) == {"outages", "audit"}


def test_a_shift_lead_is_called_only_to_what_they_may_decide(
    engine: Engine, tmp_path: Path
) -> None:
    operators(engine, tmp_path)
    theirs = outage_lifecycle.create_draft(engine, draft_of(engine, "Ana's"), actor="ana")
    outage_lifecycle.submit(engine, theirs, actor="ana")
    mine = outage_lifecycle.create_draft(engine, draft_of(engine, "Olena's"), actor="olena")
    outage_lifecycle.submit(engine, mine, actor="olena")
    outage_lifecycle.create_draft(engine, draft_of(engine, "a draft"), actor="ana")
    with engine.connect() as conn:
        assert awaiting_approval(conn, "olena") == {theirs: "Ana's"}
        assert awaiting_approval(conn, "bohdan") == {theirs: "Ana's", mine: "Olena's"}
