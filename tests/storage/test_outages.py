"""Outages in the database: drafting, four-eyes approval, rejection,
cancellation and amendment, with roles checked by storage itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import outage_lifecycle, outages, users
from dispatch_tui.storage.tables import audit_log, node, notice, utility
from tests.storage.csvdata import load_all

FUTURE = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> dict[str, int]:
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    for login, role in (
        ("ana", "dispatcher"),
        ("bohdan", "shift_lead"),
        ("olena", "shift_lead"),
        ("viktor", "viewer"),
    ):
        users.add_operator(engine, login, role, actor="root")
    with engine.connect() as conn:
        ids = dict(conn.execute(select(node.c.code, node.c.id)).all())
        ids["EG"] = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
    return ids


def draft(world: dict[str, int], **changes: object) -> OutageDraft:
    base = OutageDraft(
        utility_id=world["EG"],
        title="Zamenjava transformatorja",
        reason="vzdrževalna dela",
        starts_at=FUTURE,
        ends_at=FUTURE + timedelta(hours=4),
        selection=Selection(nodes=frozenset({world["EG-R1"]})),
    )
    return OutageDraft(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def notices_of(engine: Engine, outage_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(notice.c.kind, notice.c.status)
                .where(notice.c.outage_id == outage_id)
                .order_by(notice.c.due_at, notice.c.id)
            )
        ]


def test_draft_submit_approve(engine: Engine, world: dict[str, int]) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="olena")
    with engine.connect() as conn:
        detail = outages.get_outage(conn, oid)
    assert (detail.row.status, detail.row.affected_mps, detail.row.affected_subscribers) == (
        "draft",
        3,
        2,
    )
    assert detail.selection.nodes == {world["EG-R1"]}
    outage_lifecycle.submit(engine, oid, actor="olena")
    with pytest.raises(outages.OutageError, match="you drafted this outage"):
        outage_lifecycle.approve(engine, oid, actor="olena")
    with pytest.raises(outages.OutageError, match="dispatcher may not approve"):
        outage_lifecycle.approve(engine, oid, actor="ana")
    with pytest.raises(outages.OutageError, match="viewer may not"):
        outage_lifecycle.approve(engine, oid, actor="viktor")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    kinds = [k for k, _s in notices_of(engine, oid)]
    assert set(kinds) >= {"advance", "day_before", "day_of"}
    with engine.connect() as conn:
        actions = (
            conn.execute(
                select(audit_log.c.action)
                .where(audit_log.c.entity == "outage")
                .order_by(audit_log.c.id)
            )
            .scalars()
            .all()
        )
    # Each refusal is in the audit log too: who tried to approve what, and why not.
    assert actions == ["draft", "submit", *["approve_refused"] * 3, "approve"]


def test_viewer_and_unknown_user_change_nothing(engine: Engine, world: dict[str, int]) -> None:
    with pytest.raises(outages.OutageError, match="viewer may not"):
        outage_lifecycle.create_draft(engine, draft(world), actor="viktor")
    with pytest.raises(outages.OutageError, match="not a dispatch-tui user"):
        outage_lifecycle.create_draft(engine, draft(world), actor="stranger")
    with engine.connect() as conn:
        assert outages.list_outages(conn)[1] == 0


def test_bad_drafts_are_refused(engine: Engine, world: dict[str, int]) -> None:
    with pytest.raises(outages.OutageError, match="select at least one"):
        outage_lifecycle.create_draft(engine, draft(world, selection=Selection()), actor="ana")
    with pytest.raises(outages.OutageError, match="end after it starts"):
        outage_lifecycle.create_draft(
            engine, draft(world, ends_at=FUTURE - timedelta(hours=1)), actor="ana"
        )
    with pytest.raises(outages.OutageError, match="give a title"):
        outage_lifecycle.create_draft(engine, draft(world, title="  "), actor="ana")


def test_reject_needs_a_reason_and_the_author_sees_it(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    with pytest.raises(outages.OutageError, match="give a reason"):
        outage_lifecycle.reject(engine, oid, "   ", actor="bohdan")
    outage_lifecycle.reject(engine, oid, "Wrong feeder, check TP Labore", actor="bohdan")
    with engine.connect() as conn:
        row = outages.get_outage(conn, oid).row
    assert (row.status, row.rejection_reason) == ("draft", "Wrong feeder, check TP Labore")
    assert notices_of(engine, oid) == []


def test_cancel_after_notices_went_out(engine: Engine, world: dict[str, int]) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    with engine.begin() as conn:
        first = (
            conn.execute(
                select(notice.c.id).where(notice.c.outage_id == oid).order_by(notice.c.due_at)
            )
            .scalars()
            .first()
        )
        conn.execute(update(notice).where(notice.c.id == first).values(status="done"))
    outage_lifecycle.cancel(engine, oid, actor="ana", reason="works postponed")
    found = notices_of(engine, oid)
    assert ("cancellation", "scheduled") in found
    assert all(status in ("done", "cancelled") for kind, status in found if kind != "cancellation")


def test_amend_needs_new_approval_by_someone_else(engine: Engine, world: dict[str, int]) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    with engine.begin() as conn:
        conn.execute(
            update(notice)
            .where(notice.c.outage_id == oid, notice.c.kind == "advance")
            .values(status="done")
        )
    outage_lifecycle.amend(
        engine, oid, FUTURE + timedelta(days=1), FUTURE + timedelta(days=1, hours=3), actor="bohdan"
    )
    with engine.connect() as conn:
        row = outages.get_outage(conn, oid).row
    assert (row.status, row.revision, row.amended_by, row.approved_by) == (
        "submitted",
        2,
        "bohdan",
        None,
    )
    with pytest.raises(outages.OutageError, match="you changed this outage's window"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    outage_lifecycle.approve(engine, oid, actor="olena")
    kinds = [k for k, s in notices_of(engine, oid) if s == "scheduled"]
    assert "amendment" in kinds


def test_overlap_is_found(engine: Engine, world: dict[str, int]) -> None:
    first = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    small = Selection(nodes=frozenset({world["EG-TP2"]}))
    with engine.connect() as conn:
        found = outages.overlapping(
            conn, None, world["EG"], small, FUTURE + timedelta(hours=1), FUTURE + timedelta(hours=2)
        )
        later = outages.overlapping(
            conn, None, world["EG"], small, FUTURE + timedelta(days=1), FUTURE + timedelta(days=2)
        )
    assert [(r.id, n) for r, n in found] == [(first, 1)]
    assert later == []
