"""An approved outage through the real lifecycle, shared by storage and engine tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import outage_lifecycle, users
from dispatch_tui.storage.tables import node, utility
from tests.storage.csvdata import load_all


def approved_outage(
    engine: Engine,
    tmp_path: Path,
    *,
    starts_at: datetime | None = None,
    channels: Sequence[str] = ("sms",),
    urgent: bool = False,
    utility_code: str = "EG",
    region: str = "EG-R1",
    reason: str = "vzdrževalna dela",
) -> int:
    """The CSV sample data, operators ana (dispatcher) and bohdan (shift lead), and
    an outage of region EG-R1 that ana drafted and bohdan approved; its id."""
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "ana", "dispatcher", actor="root")
    users.add_operator(engine, "bohdan", "shift_lead", actor="root")
    with engine.connect() as conn:
        region_id = conn.execute(select(node.c.id).where(node.c.code == region)).scalar_one()
        uid = conn.execute(select(utility.c.id).where(utility.c.code == utility_code)).scalar_one()
    start = starts_at or datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    draft = OutageDraft(
        utility_id=uid,
        title="Zamenjava TP",
        reason=reason,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        selection=Selection(nodes=frozenset({region_id})),
        channels=tuple(channels),
        urgent=urgent,
    )
    oid = outage_lifecycle.create_draft(engine, draft, actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    with engine.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid)
    outage_lifecycle.approve(engine, oid, actor="bohdan", warnings_seen=warnings)
    return oid
