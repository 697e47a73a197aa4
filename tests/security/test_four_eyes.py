"""Four-eyes that one shift lead cannot get round (issue 10, attacks 2, 3 and 5),
tried through storage as a colleague with the app would, and with plain SQL as
one with write access to the database would. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from dispatch_tui.domain.draft import content_digest
from dispatch_tui.storage import audit, outage_lifecycle, outages, users
from dispatch_tui.storage.outages import OutageError, sendable_notice_ids
from dispatch_tui.storage.tables import audit_log, notice, outage
from tests.storage.test_outages import FUTURE, draft, world

__all__ = ["world"]


@pytest.fixture
def dmytro(world: dict[str, int], engine: Engine) -> str:
    """A second dispatcher beside the storage tests' world (ana; bohdan, olena)."""
    users.add_operator(engine, "dmytro", "dispatcher", actor="root")
    return "dmytro"


def status(engine: Engine, oid: int) -> str:
    with engine.connect() as conn:
        return outages.get_outage(conn, oid).row.status


def sendable(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.scalars(sendable_notice_ids()))


def test_a_shift_lead_who_edited_a_draft_cannot_approve_it(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.update_draft(
        engine, oid, draft(world, reason="the lead's own text"), actor="bohdan"
    )
    outage_lifecycle.submit(engine, oid, actor="ana")
    with pytest.raises(OutageError, match="you changed this outage since its last approval"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    outage_lifecycle.approve(engine, oid, actor="olena")
    with engine.connect() as conn:
        edit = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(audit_log.c.action == "edit")
        ).one()
    assert edit.actor == "bohdan" and "ana" in str(edit.detail), "the take-over is recorded"


def test_withdraw_edit_resubmit_makes_the_editor_ineligible(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    outage_lifecycle.withdraw(engine, oid, actor="bohdan")
    outage_lifecycle.update_draft(engine, oid, draft(world, title="Lead's version"), actor="bohdan")
    outage_lifecycle.submit(engine, oid, actor="bohdan")
    with pytest.raises(OutageError, match="since its last approval"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    assert status(engine, oid) == "submitted"


def test_someone_elses_draft_is_a_shift_lead_matter(
    engine: Engine, world: dict[str, int], dmytro: str
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    with pytest.raises(OutageError, match="may not edit or withdraw someone else's outage"):
        outage_lifecycle.update_draft(engine, oid, draft(world, title="mine now"), actor="dmytro")
    outage_lifecycle.submit(engine, oid, actor="ana")
    with pytest.raises(OutageError, match="may not edit or withdraw someone else's outage"):
        outage_lifecycle.withdraw(engine, oid, actor="dmytro")
    assert status(engine, oid) == "submitted"


def test_an_amender_of_an_approved_outage_cannot_approve_the_change(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    outage_lifecycle.approve(engine, oid, actor="olena")
    outage_lifecycle.amend(
        engine, oid, FUTURE + timedelta(hours=1), FUTURE + timedelta(hours=5), actor="bohdan"
    )
    with pytest.raises(OutageError, match=r"window|since its last approval"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    # The first approver did not change anything in this cycle and may approve it.
    outage_lifecycle.approve(engine, oid, actor="olena")
    assert status(engine, oid) == "approved"


def test_approval_is_refused_when_the_content_changed_since_the_preview(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    with engine.connect() as conn:
        detail = outages.get_outage(conn, oid)
    seen = content_digest(draft(world), detail.row.revision)
    # The author swaps the text between the approver's preview and the key press.
    outage_lifecycle.withdraw(engine, oid, actor="ana")
    outage_lifecycle.update_draft(engine, oid, draft(world, reason="FAKE: other text"), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    with pytest.raises(OutageError, match="changed since you opened it"):
        outage_lifecycle.approve(engine, oid, actor="bohdan", revision=1, digest=seen)
    assert status(engine, oid) == "submitted"
    fresh = content_digest(draft(world, reason="FAKE: other text"), 1)
    outage_lifecycle.approve(engine, oid, actor="bohdan", revision=1, digest=fresh)
    assert status(engine, oid) == "approved"


def _approved_by_sql(
    engine: Engine,
    world: dict[str, int],
    approver: str,
    oid: int | None = None,
    *,
    audited_revision: int | None = 1,
) -> int:
    """A submitted outage set to approved with plain SQL, with a notice planned, and the
    approver's audit row for ``audited_revision`` (None: none)."""
    if oid is None:
        oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
        outage_lifecycle.submit(engine, oid, actor="ana")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            update(outage)
            .where(outage.c.id == oid)
            .values(status="approved", approved_by=approver, approved_at=now)
        )
        if audited_revision is not None:
            audit.append(
                conn,
                actor=approver,
                action="approve",
                entity="outage",
                entity_id=oid,
                detail={"revision": audited_revision},
            )
        conn.execute(
            insert(notice),
            {
                "outage_id": oid,
                "kind": "advance",
                "channels": ["sms"],
                "due_at": now,
                "status": "scheduled",
                "outage_revision": 1,
                "created_at": now,
            },
        )
    return oid


@pytest.mark.parametrize("approver", ["nobody", "dmytro"])
def test_an_outage_approved_by_hand_by_someone_who_may_not_sends_nothing(
    engine: Engine, world: dict[str, int], dmytro: str, approver: str
) -> None:
    _approved_by_sql(engine, world, approver)
    assert sendable(engine) == set()


@pytest.mark.parametrize("audited", [None, 2])
def test_an_approval_written_by_hand_without_its_audit_row_sends_nothing(
    engine: Engine, world: dict[str, int], audited: int | None
) -> None:
    """A shift lead who may approve, writing the approval into the row past storage: no
    audit row of this revision, no notice goes out."""
    _approved_by_sql(engine, world, "bohdan", audited_revision=audited)
    assert sendable(engine) == set()


def test_an_approval_audited_in_someone_elses_name_sends_nothing(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = _approved_by_sql(engine, world, "bohdan", audited_revision=None)
    with engine.begin() as conn:
        audit.append(
            conn,
            actor="olena",
            action="approve",
            entity="outage",
            entity_id=oid,
            detail={"revision": 1},
        )
    assert sendable(engine) == set()


def test_the_database_refuses_the_author_as_approver(engine: Engine, world: dict[str, int]) -> None:
    with pytest.raises(IntegrityError, match="four_eyes"):
        _approved_by_sql(engine, world, "ana")


def test_an_editor_written_in_as_approver_sends_nothing(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.update_draft(engine, oid, draft(world, title="edited"), actor="bohdan")
    outage_lifecycle.submit(engine, oid, actor="ana")
    _approved_by_sql(engine, world, "bohdan", oid)
    assert sendable(engine) == set()


def test_a_shift_leads_approval_stands_after_a_later_demotion(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = _approved_by_sql(engine, world, "olena")
    assert len(sendable(engine)) == 1
    users.set_role(engine, "olena", "viewer", actor="root")
    assert len(sendable(engine)) == 1, "held the role when approving"
    users.remove_operator(engine, "olena", actor="root")
    assert len(sendable(engine)) == 1
    with engine.begin() as conn:
        # A backdated approval after the demotion does not count.
        conn.execute(
            update(outage)
            .where(outage.c.id == oid)
            .values(approved_at=datetime.now(UTC) + timedelta(seconds=1))
        )
    assert sendable(engine) == set()


def test_deleting_someone_elses_draft_is_a_shift_leads_act(
    engine: Engine, world: dict[str, int], dmytro: str
) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    with pytest.raises(OutageError, match="shift lead"):
        outage_lifecycle.delete_draft(engine, oid, actor=dmytro)
    assert status(engine, oid) == "draft"
    outage_lifecycle.delete_draft(engine, oid, actor="bohdan")
    with engine.connect() as conn:
        assert conn.scalar(select(outage.c.id).where(outage.c.id == oid)) is None
