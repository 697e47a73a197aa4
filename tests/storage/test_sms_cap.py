"""`sms.max_segments` is a cap (issue 15): an outage whose SMS is over it is not
approved unless the approver sends it transliterated (and it then fits) or accepts
the extra cost, and what they chose is in the audit row and on the outage; on
PostgreSQL nobody sets that choice for an approver afterwards."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError

from dispatch_tui.storage import outage_lifecycle, outages
from dispatch_tui.storage.outage_lifecycle import SmsChoice
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.preview import build_preview, sms_over_cap
from dispatch_tui.storage.tables import audit_log, outage
from tests.security.pg_roles import ANA, OLENA, Cluster, cluster
from tests.storage.test_outages import draft, world

__all__ = ["cluster", "world"]

# About 260 characters with č/š/ž: UCS-2 makes the SMS 6 segments, GSM-7 three.
LONG = (
    "obsežna zamenjava dotrajanih kablov in stikalnih naprav v transformatorski postaji "
    "ter preizkus zaščite, ki ga zahteva varnost ljudi in naprav na celotnem območju "
    "izvoda, zato mora biti napetost izključena ves čas del"
)
# Too long even transliterated.
LONGER = " ".join([LONG] * 3)


def submitted(engine: Engine, world: dict[str, int], reason: str) -> int:
    oid = outage_lifecycle.create_draft(engine, draft(world, reason=reason), actor="ana")
    outage_lifecycle.submit(engine, oid, actor="ana")
    return oid


def approval_audit(engine: Engine, oid: int) -> list[tuple[str, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.detail)
            .where(audit_log.c.entity == "outage", audit_log.c.entity_id == str(oid))
            .where(audit_log.c.action.like("approve%"))
            .order_by(audit_log.c.id)
        ).all()
    return [(a, d if isinstance(d, dict) else json.loads(d)) for a, d in rows]


def row(engine: Engine, oid: int) -> outages.OutageRow:
    with engine.connect() as conn:
        return outages.get_outage(conn, oid).row


def test_over_the_cap_is_refused_naming_language_segments_and_cap(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = submitted(engine, world, LONG)
    with engine.connect() as conn:
        detail = outages.get_outage(conn, oid)
        over = sms_over_cap(conn, detail.draft, max_sms_segments=3, transliterate=False)
        preview = build_preview(
            conn, detail.draft, now=detail.row.updated_at, outage_id=oid, max_sms_segments=3
        )
    assert {o.language for o in over} == {"en", "sl"}
    # The refusal is what the preview flagged: the same computation.
    flagged = [s for s in preview.samples if s.sms is not None and s.sms.over_cap]
    assert {(s.language, s.sms.segments) for s in flagged if s.sms} == {
        (o.language, o.segments) for o in over
    }
    with pytest.raises(OutageError, match=r"the sl SMS needs \d segments, over the cap of 3"):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    assert row(engine, oid).status == "submitted"
    assert approval_audit(engine, oid)[-1][0] == "approve_refused"
    # A higher cap lets it through unasked: the cap is the configured one.
    outage_lifecycle.approve(engine, oid, actor="bohdan", max_sms_segments=10)
    assert row(engine, oid).sms_decision is None


def test_transliteration_chosen_at_approval_brings_it_under_the_cap(
    engine: Engine, world: dict[str, int]
) -> None:
    oid = submitted(engine, world, LONG)
    outage_lifecycle.approve(engine, oid, actor="bohdan", sms=SmsChoice(transliterate=True))
    approved = row(engine, oid)
    assert approved.status == "approved"
    assert approved.sms_decision == {"transliterate": True}
    # The author's content is unchanged (no edit, four-eyes intact); SMS go out in GSM-7.
    assert (approved.transliterate, approved.transliterate_sms) == (False, True)
    action, detail = approval_audit(engine, oid)[-1]
    assert action == "approve" and detail["sms"] == {"transliterate": True}


def test_accepting_the_cost_is_explicit_and_recorded(engine: Engine, world: dict[str, int]) -> None:
    oid = submitted(engine, world, LONGER)
    with pytest.raises(OutageError, match="over the cap of 3: accept the extra cost"):
        outage_lifecycle.approve(engine, oid, actor="bohdan", sms=SmsChoice(transliterate=True))
    with engine.connect() as conn:
        over = sms_over_cap(
            conn, outages.get_outage(conn, oid).draft, max_sms_segments=3, transliterate=True
        )
    worst = max(o.segments for o in over)
    # Accepting fewer segments than it needs is not accepting it.
    with pytest.raises(OutageError, match="over the cap"):
        outage_lifecycle.approve(
            engine,
            oid,
            actor="bohdan",
            sms=SmsChoice(transliterate=True, accept_segments=worst - 1),
        )
    outage_lifecycle.approve(
        engine, oid, actor="bohdan", sms=SmsChoice(transliterate=True, accept_segments=worst)
    )
    decision = row(engine, oid).sms_decision
    assert decision == {
        "transliterate": True,
        "accepted_segments": {o.language: o.segments for o in over},
        "cap": 3,
    }
    assert approval_audit(engine, oid)[-1][1]["sms"] == decision


def test_an_outage_within_the_cap_needs_no_choice(engine: Engine, world: dict[str, int]) -> None:
    oid = submitted(engine, world, "vzdrževalna dela")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    assert row(engine, oid).sms_decision is None
    assert "sms" not in approval_audit(engine, oid)[-1][1]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_nobody_sets_the_approvers_choice_afterwards(cluster: Cluster, engine: Engine) -> None:
    lead = cluster.as_role(OLENA)
    author = cluster.as_role(ANA)
    oid = outage_lifecycle.create_draft(author, draft(cluster.ids, reason=LONG), actor=ANA)
    outage_lifecycle.submit(author, oid, actor=ANA)
    outage_lifecycle.approve(lead, oid, actor=OLENA, sms=SmsChoice(transliterate=True))
    assert row(engine, oid).sms_decision == {"transliterate": True}
    for who in (lead, author):
        with pytest.raises(DBAPIError, match="set only by approving"), who.begin() as conn:
            conn.execute(
                update(outage)
                .where(outage.c.id == oid)
                .values(sms_decision={"accepted_segments": {"sl": 9}, "cap": 3})
            )
    # Nor slipped into a draft for a later approval to carry.
    other = outage_lifecycle.create_draft(author, draft(cluster.ids), actor=ANA)
    with pytest.raises(DBAPIError, match="set only by approving"), author.begin() as conn:
        conn.execute(
            text("UPDATE outage SET sms_decision = '{\"transliterate\": true}' WHERE id = :id"),
            {"id": other},
        )
