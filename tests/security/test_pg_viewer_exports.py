"""On PostgreSQL a viewer exports an outage's delivery evidence through their own database
role, and the export is recorded under their name; with psql, the same viewer can add no
other kind of audit row (an approval, a priority customer called) and none in another's
name (migration 0016)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.storage.evidence import export_evidence
from dispatch_tui.storage.tables import audit_log, notice
from tests.engine.factory import make_outbox
from tests.security.pg_roles import ANA, VIKTOR, Cluster, cluster
from tests.security.test_pg_roles_sql import audit_rows, refused

__all__ = ["cluster"]

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

FORGED = (
    "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) "
    "VALUES (now(), :who, :action, 'outage', '1', '{}')"
)


def test_a_viewer_exports_and_the_export_is_recorded(cluster: Cluster, engine: Engine) -> None:
    notice_id = make_outbox(engine, 2)
    with engine.connect() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == notice_id)
        ).scalar_one()
    out = io.StringIO()
    summary = export_evidence(cluster.as_role(VIKTOR), outage_id, out, actor=VIKTOR)
    assert summary.messages == 2 and len(out.getvalue().splitlines()) == 3
    with engine.connect() as conn:
        record = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(
                audit_log.c.action == "export_evidence"
            )
        ).one()
    assert record == (VIKTOR, {"rows": 2, "messages": 2, "to": "standard output"})


def test_a_viewer_records_nothing_else(cluster: Cluster, engine: Engine) -> None:
    before = audit_rows(engine)
    viktor = cluster.as_role(VIKTOR)
    for action in ("priority_called", "approve", "backup"):
        refused(viktor, FORGED, "is a viewer", who=VIKTOR, action=action)
    refused(viktor, FORGED, "must be the session user", who=ANA, action="export_evidence")
    assert audit_rows(engine) == before
