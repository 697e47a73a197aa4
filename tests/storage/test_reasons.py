"""A reason per language of the audience (issue 15: English notices carried the
Slovene reason): each language's notices carry its own, a language without one
falls back to the utility's and the preview says so; on PostgreSQL the reasons are
content like the rest (a submitted outage's do not change, whoever changes them is
an editor who may not approve)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from dispatch_tui.storage import fanout, outage_lifecycle, outages
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.preview import build_preview
from dispatch_tui.storage.tables import message, notice
from tests.security.pg_roles import ANA, OLENA, Cluster, cluster
from tests.storage.test_outages import draft, world

__all__ = ["cluster", "world"]

ENGLISH = "replacing a worn-out transformer"


def preview_warnings(engine: Engine, oid: int) -> list[str]:
    with engine.connect() as conn:
        detail = outages.get_outage(conn, oid)
        return build_preview(conn, detail.draft, now=detail.row.updated_at).warnings


def test_each_language_carries_its_own_reason(engine: Engine, world: dict[str, int]) -> None:
    oid = outage_lifecycle.create_draft(engine, draft(world), actor="ana")
    assert any(
        "English notices will carry the Slovene reason" in w for w in preview_warnings(engine, oid)
    )
    outage_lifecycle.update_draft(
        engine, oid, draft(world, reasons={"en": f"  {ENGLISH} ", "bg": " "}), actor="ana"
    )
    with engine.connect() as conn:
        row = outages.get_outage(conn, oid).row
    assert row.reasons == {"en": ENGLISH}
    assert not any("reason" in w for w in preview_warnings(engine, oid))
    sender = ("Elektro Gorenjska", "080 30 19")
    assert outages.notice_context(row, sender, "en", "advance").reason == ENGLISH
    assert outages.notice_context(row, sender, "sl", "advance").reason == "vzdrževalna dela"
    assert outages.notice_context(row, sender, "uk", "advance").reason == "vzdrževalna dela"
    outage_lifecycle.submit(engine, oid, actor="ana")
    with engine.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid)
    outage_lifecycle.approve(engine, oid, actor="bohdan", warnings_seen=warnings)
    with engine.connect() as conn:
        scheduled = conn.execute(
            select(notice.c.id, notice.c.due_at, notice.c.channels)
            .where(notice.c.outage_id == oid, notice.c.status == "scheduled")
            .order_by(notice.c.due_at, notice.c.id)
        ).all()
    first = next(n for n in scheduled if "sms" in n.channels)
    fanout.fan_out(engine, first.id, owner="x", now=first.due_at + timedelta(seconds=1))
    with engine.connect() as conn:
        bodies = dict(
            conn.execute(
                select(message.c.language, message.c.body).where(
                    message.c.notice_id == first.id, message.c.channel == "sms"
                )
            ).all()
        )
    assert f"Reason: {ENGLISH}." in bodies["en"]
    assert "Vzrok: vzdrževalna dela." in bodies["sl"]


def test_a_reason_in_an_unknown_language_is_refused(engine: Engine, world: dict[str, int]) -> None:
    with pytest.raises(OutageError, match="reason in unknown language 'xx'"):
        outage_lifecycle.create_draft(engine, draft(world, reasons={"xx": "?"}), actor="ana")
    with pytest.raises(OutageError, match="the en reason is longer than 2000"):
        outage_lifecycle.create_draft(engine, draft(world, reasons={"en": "x" * 2001}), actor="ana")


@pytest.mark.parametrize("backend", ["postgresql"])
def test_reasons_are_content_on_postgresql(cluster: Cluster, engine: Engine) -> None:
    author, lead = cluster.as_role(ANA), cluster.as_role(OLENA)
    oid = outage_lifecycle.create_draft(author, draft(cluster.ids), actor=ANA)
    # A shift lead who writes the English reason into the draft by hand is its editor...
    with lead.begin() as conn:
        conn.execute(
            text('UPDATE outage SET reasons = \'{"en": "works"}\' WHERE id = :id'), {"id": oid}
        )
    outage_lifecycle.submit(author, oid, actor=ANA)
    with pytest.raises(OutageError, match="you changed this outage"):
        outage_lifecycle.approve(lead, oid, actor=OLENA)
    # ... and nobody changes the reasons of a submitted outage.
    with pytest.raises(DBAPIError, match="changes only its window"), author.begin() as conn:
        conn.execute(
            text('UPDATE outage SET reasons = \'{"en": "other"}\' WHERE id = :id'), {"id": oid}
        )
