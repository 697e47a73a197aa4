"""Rules live in storage, not only in the form (issue 11, hole 3), approval is
for what the approver saw, and approved outages complete after their end
(hole 5). Each attack goes through storage or plain SQL, as a colleague with
a shell would try it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import outage_lifecycle, outages
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.tables import audit_log, notice, outage, utility
from tests.storage.test_outages import FUTURE, draft, world

__all__ = ["world"]


def ua_draft(world: dict[str, int], hours: float, start: datetime = FUTURE) -> OutageDraft:
    return draft(
        world,
        utility_id=world["ZOE"],
        selection=Selection(nodes=frozenset({world["Z-R1"]})),
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
    )


@pytest.fixture
def ua(engine: Engine, world: dict[str, int]) -> dict[str, int]:
    with engine.connect() as conn:
        world["ZOE"] = conn.execute(
            select(utility.c.id).where(utility.c.code == "ZOE")
        ).scalar_one()
    return world


def status(engine: Engine, oid: int) -> str:
    with engine.connect() as conn:
        return outages.get_outage(conn, oid).row.status


def test_a_thirty_hour_ukrainian_outage_is_refused_on_save(
    engine: Engine, ua: dict[str, int]
) -> None:
    with pytest.raises(OutageError, match="Ukraine allows at most"):
        outage_lifecycle.create_draft(engine, ua_draft(ua, 30), actor="ana")
    oid = outage_lifecycle.create_draft(engine, ua_draft(ua, 4), actor="ana")
    with pytest.raises(OutageError, match="Ukraine allows at most"):
        outage_lifecycle.update_draft(engine, oid, ua_draft(ua, 30), actor="ana")


def test_a_window_stretched_by_sql_cannot_be_submitted_or_approved(
    engine: Engine, ua: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, ua_draft(ua, 4), actor="ana")
    with engine.begin() as conn:
        conn.execute(update(outage).values(ends_at=FUTURE + timedelta(hours=30)))
    with pytest.raises(OutageError, match="Ukraine allows at most"):
        outage_lifecycle.submit(engine, oid, actor="ana")
    with engine.begin() as conn:
        conn.execute(update(outage).values(ends_at=FUTURE + timedelta(hours=4)))
    outage_lifecycle.submit(engine, oid, actor="ana")
    with engine.begin() as conn:
        conn.execute(update(outage).values(ends_at=FUTURE + timedelta(hours=30)))
    with pytest.raises(OutageError, match="Ukraine allows at most"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    assert status(engine, oid) == "submitted"
    with engine.connect() as conn:
        assert not conn.execute(select(notice.c.id)).all()


def test_an_outage_that_started_yesterday_is_refused_everywhere(
    engine: Engine, world: dict[str, int]
) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    late = draft(world, starts_at=yesterday, ends_at=yesterday + timedelta(hours=2))
    with pytest.raises(OutageError, match="start must be in the future"):
        outage_lifecycle.create_draft(engine, late, actor="ana")
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    with engine.begin() as conn:
        conn.execute(
            update(outage).values(starts_at=yesterday, ends_at=yesterday + timedelta(hours=30))
        )
    with pytest.raises(OutageError, match="start must be in the future"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")


def test_an_amendment_over_the_duration_limit_is_refused(
    engine: Engine, ua: dict[str, int]
) -> None:
    oid = outage_lifecycle.create_draft(engine, ua_draft(ua, 4), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    with pytest.raises(OutageError, match="Ukraine allows at most"):
        outage_lifecycle.amend(engine, oid, FUTURE, FUTURE + timedelta(hours=30), actor="ana")
    assert status(engine, oid) == "approved"


def test_approving_despite_short_notice_needs_the_warning_seen_and_records_it(
    engine: Engine, world: dict[str, int]
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    oid = outage_lifecycle.create_draft(
        engine, draft(world, starts_at=soon, ends_at=soon + timedelta(hours=2)), actor="ana"
    )
    outage_lifecycle.submit(engine, oid, actor="ana")
    with engine.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid)
    assert any("requires 48 hours" in w for w in warnings)
    with pytest.raises(OutageError, match="confirm the warning first"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    assert status(engine, oid) == "submitted"
    outage_lifecycle.approve(engine, oid, actor="bohdan", warnings_seen=warnings)
    with engine.connect() as conn:
        detail = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "approve")
        ).scalar_one()
    recorded = detail if isinstance(detail, dict) else json.loads(detail)
    assert recorded["warnings_seen"] == warnings


def test_approval_names_the_revision_it_saw(engine: Engine, world: dict[str, int]) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    outage_lifecycle.amend(
        engine, oid, FUTURE + timedelta(hours=1), FUTURE + timedelta(hours=5), actor="ana"
    )
    with pytest.raises(OutageError, match="changed since you opened it"):
        outage_lifecycle.approve(engine, oid, actor="olena", revision=1)
    outage_lifecycle.approve(engine, oid, actor="olena", revision=2)
    assert status(engine, oid) == "approved"


def test_the_lifecycle_runs_through_completion(engine: Engine, world: dict[str, int]) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    other = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    for each in (oid, other):
        outage_lifecycle.submit(engine, each, actor="ana")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    before_end = FUTURE + timedelta(hours=3)
    assert outage_lifecycle.complete_ended(engine, actor="engine", now=before_end) == []
    after_end = FUTURE + timedelta(hours=4)
    assert outage_lifecycle.complete_ended(engine, actor="engine", now=after_end) == [oid]
    assert (status(engine, oid), status(engine, other)) == ("completed", "submitted")
    assert outage_lifecycle.complete_ended(engine, actor="engine", now=after_end) == []
    with engine.connect() as conn:
        live, _ = outages.list_outages(conn, statuses=("approved",))
        assert live == []
        actor = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "complete")
        ).scalar_one()
    assert actor == "engine"
    with pytest.raises(OutageError, match="completed"):
        outage_lifecycle.cancel(engine, oid, actor="ana", reason="works postponed")
