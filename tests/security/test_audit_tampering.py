"""Tampering with the audit log (issue 10, attack 6), tried with plain SQL as someone with
write access to the database would, on both backends: every attempt is named by
`audit.verify`, with the anchors written outside the database where the chain alone
cannot show it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update

from dispatch_tui.storage import audit, audit_anchor
from dispatch_tui.storage.audit import Tampering
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import audit_log
from tests.security.audit_attacker import (
    Digest,
    as_owner,
    audit_files,
    decisions,
    guessed_key,
    rechain,
    stolen_key,
    unkeyed,
)

__all__ = ["audit_files"]

pytestmark = pytest.mark.usefixtures("audit_files")


def check(engine: Engine, *, anchored: bool = True) -> audit.VerifyResult:
    anchors = audit_anchor.anchors_of(engine) if anchored else []
    with engine.connect() as conn:
        return audit.verify(conn, audit.current_key(), anchors)


def anchor(engine: Engine) -> audit.Anchor:
    made = audit_anchor.anchor(engine, reason="approval")
    assert made is not None
    return made


def test_an_untouched_log_verifies_against_its_anchors(engine: Engine) -> None:
    decisions(engine, 3)
    anchor(engine)
    decisions(engine, 2)
    anchor(engine)
    result = check(engine)
    assert result.ok and result.checked == 5 and result.anchors == 2
    assert result.message == "audit log intact: 5 rows, 2 anchors match"


def test_deleting_the_newest_rows_shows_as_a_removed_tail(engine: Engine) -> None:
    decisions(engine, 6)
    anchor(engine)
    with as_owner(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id > 4))
    assert check(engine, anchored=False).ok, "the chain alone cannot show a cut-off tail"
    result = check(engine)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.REMOVED_TAIL, 5)
    assert "the log ends at row 4, but row 6 was anchored" in result.problem
    assert result.checked == 4


def test_a_removed_tail_shows_after_new_decisions_too(engine: Engine) -> None:
    decisions(engine, 6)
    anchor(engine)
    with as_owner(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id > 4))
    decisions(engine, 3, actor="bohdan")
    assert check(engine, anchored=False).ok
    result = check(engine)
    # SQLite gives the removed numbers to the new rows; PostgreSQL's sequence does not.
    assert not result.ok and result.first_bad_id in (5, 6)
    assert result.kind in (Tampering.REMOVED, Tampering.RECHAINED)


def test_deleting_a_middle_row_names_the_gap(engine: Engine) -> None:
    decisions(engine, 6)
    with as_owner(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id == 3))
    result = check(engine, anchored=False)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.REMOVED, 4)
    assert result.problem == (
        "previous-hash link broken (a row before it is missing): row 3 removed"
    )
    assert result.checked == 2


def test_editing_a_rows_detail_is_named(engine: Engine) -> None:
    decisions(engine, 6)
    with as_owner(engine) as conn:
        conn.execute(
            update(audit_log).where(audit_log.c.id == 3).values(detail={"title": "nothing"})
        )
    result = check(engine)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.EDITED, 3)
    assert result.problem == "content was edited"
    assert result.message == "audit log row 3: content was edited (2 rows before it are intact)"


@pytest.mark.parametrize(
    ("digest", "how"),
    [(unkeyed, "the old unkeyed formula"), (guessed_key, "a key that is not ours")],
    ids=["unkeyed", "guessed-key"],
)
def test_an_edit_with_the_chain_recomputed_after_it_is_named(
    engine: Engine, digest: Digest, how: str
) -> None:
    decisions(engine, 6)
    with as_owner(engine) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(actor="mallory"))
        rechain(conn, 3, digest)
    result = check(engine, anchored=False)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.RECHAINED, 3)
    assert f"re-computed after it with {how}: rows 3 to 6" in result.problem


def test_a_chain_recomputed_with_the_real_key_differs_from_its_anchors(engine: Engine) -> None:
    """Someone who stole the key re-computes a valid chain; the anchors still hold the old
    hashes, so verify names the first anchored row that changed and the last that did not."""
    decisions(engine, 2)
    anchor(engine)
    decisions(engine, 2)
    anchor(engine)
    decisions(engine, 2)
    with as_owner(engine) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(detail={"n": 0}))
        rechain(conn, 3, stolen_key)
    assert check(engine, anchored=False).ok, "with the key, the chain alone is fooled"
    result = check(engine)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.RECHAINED, 4)
    assert "differs from its anchor" in result.problem
    assert "after row 2, whose anchor matches" in result.problem


def test_a_whole_log_rewritten_as_unkeyed_rows_differs_from_its_anchors(engine: Engine) -> None:
    """A forged switch row at the end would make every row before it count as unkeyed."""
    decisions(engine, 4)
    anchor(engine)
    with as_owner(engine) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 2).values(actor="mallory"))
        rechain(conn, 1, unkeyed)
        prev = conn.execute(select(audit_log.c.hash).where(audit_log.c.id == 4)).scalar_one()
        first = conn.execute(select(audit_log).where(audit_log.c.id == 1)).one()
        content = audit.payload(
            prev, first.at, "root", audit.SWITCH_ACTION, audit.SWITCH_ENTITY, "4", {}
        )
        conn.execute(
            insert(audit_log).values(
                id=5,
                at=first.at,
                actor="root",
                action=audit.SWITCH_ACTION,
                entity=audit.SWITCH_ENTITY,
                entity_id="4",
                detail={},
                prev_hash=prev,
                hash=audit.plain_digest(content),
            )
        )
    result = check(engine)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.RECHAINED, 4)


def test_a_wrong_key_file_is_told_apart_from_tampering(engine: Engine) -> None:
    decisions(engine, 3)
    anchor(engine)
    anchors = audit_anchor.anchors_of(engine)
    with engine.connect() as conn:
        result = audit.verify(conn, b"k" * 32, anchors)
    assert (result.ok, result.kind, result.first_bad_id) == (False, Tampering.WRONG_KEY, 1)
    assert "check audit.key_file" in result.problem


def test_every_decision_after_tampering_keeps_the_damage_visible(engine: Engine) -> None:
    decisions(engine, 3)
    with as_owner(engine) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 2).values(entity_id="99"))
    decisions(engine, 3, actor="bohdan")
    with write_transaction(engine) as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 6
    result = check(engine)
    assert (result.kind, result.first_bad_id) == (Tampering.EDITED, 2)
