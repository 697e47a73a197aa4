"""Issue 10, attacks 1 and 5 on PostgreSQL: a dispatcher with a database login of their
own and `psql` tries each forbidden statement. The database refuses it, or records the
real session user where the statement claims another."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from dispatch_tui.storage import outage_lifecycle
from dispatch_tui.storage.outages import sendable_outage_ids
from dispatch_tui.storage.tables import audit_log, outage
from tests.security.pg_roles import (
    ADMIN,
    ANA,
    BOHDAN,
    DMYTRO,
    OLENA,
    VIKTOR,
    Cluster,
    cluster,
)
from tests.storage.test_outages import draft

__all__ = ["cluster"]

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

PSQL = Path("/usr/lib/postgresql/15/bin/psql")


def submitted(c: Cluster, author: str = ANA) -> int:
    """An outage `author` drafted and submitted, through storage as their own role."""
    db = c.as_role(author)
    oid = outage_lifecycle.create_draft(db, draft(c.ids), actor=author)
    outage_lifecycle.submit(db, oid, actor=author)
    return oid


def approved(c: Cluster, approver: str = OLENA) -> int:
    """A submitted outage of ana's, approved through storage by `approver`'s own role."""
    oid = submitted(c)
    db = c.as_role(approver)
    with db.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid)
    outage_lifecycle.approve(db, oid, actor=approver, warnings_seen=warnings)
    return oid


def refused(db: Engine, statement: str, match: str, **params: object) -> None:
    with pytest.raises(DBAPIError, match=match), db.begin() as conn:
        conn.execute(text(statement), params)


def row(engine: Engine, oid: int) -> tuple[object, ...]:
    with engine.connect() as conn:
        found = conn.execute(
            select(outage.c.status, outage.c.created_by, outage.c.approved_by).where(
                outage.c.id == oid
            )
        ).one()
    return tuple(found)


def audit_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]


APPROVE = "UPDATE outage SET status = 'approved', approved_by = :who, approved_at = now() "


def test_a_dispatcher_cannot_approve(cluster: Cluster, engine: Engine) -> None:
    oid = submitted(cluster)
    ana = cluster.as_role(ANA)
    refused(ana, APPROVE + "WHERE id = :id", "may not approve outages", who=BOHDAN, id=oid)
    refused(ana, APPROVE + "WHERE id = :id", "may not approve outages", who="nobody", id=oid)
    assert row(engine, oid) == ("submitted", ANA, None)


def test_a_viewer_cannot_write_at_all(cluster: Cluster, engine: Engine) -> None:
    oid = submitted(cluster)
    viktor = cluster.as_role(VIKTOR)
    refused(viktor, APPROVE + "WHERE id = :id", "permission denied", who=BOHDAN, id=oid)
    refused(viktor, "DELETE FROM outage WHERE id = :id", "permission denied", id=oid)
    assert row(engine, oid) == ("submitted", ANA, None)


def test_a_shift_lead_cannot_approve_their_own_or_what_they_edited(
    cluster: Cluster, engine: Engine
) -> None:
    own = submitted(cluster, author=BOHDAN)
    bohdan = cluster.as_role(BOHDAN)
    refused(bohdan, APPROVE + "WHERE id = :id", "their own outage", who=OLENA, id=own)
    oid = submitted(cluster)
    # Changing the window by hand makes the lead an editor of this cycle.
    with bohdan.begin() as conn:
        conn.execute(
            text("UPDATE outage SET ends_at = ends_at + interval '1 hour' WHERE id = :id"),
            {"id": oid},
        )
    refused(bohdan, APPROVE + "WHERE id = :id", "they edited", who=OLENA, id=oid)
    # Or both at once.
    other = submitted(cluster)
    refused(
        bohdan,
        "UPDATE outage SET status = 'approved', approved_by = :who, approved_at = now(), "
        "reason = 'mine now' WHERE id = :id",
        "they edited",
        who=OLENA,
        id=other,
    )
    # A draft is not up for approval.
    with cluster.as_role(ANA).begin() as conn:
        conn.execute(text("UPDATE outage SET status = 'draft' WHERE id = :id"), {"id": other})
    refused(
        cluster.as_role(OLENA), APPROVE + "WHERE id = :id", "only a submitted", who=OLENA, id=other
    )
    assert row(engine, own)[0] == row(engine, oid)[0] == "submitted"


def test_a_dispatcher_keeps_off_a_colleagues_outage(cluster: Cluster, engine: Engine) -> None:
    """A second dispatcher, in psql, cannot delete ana's draft, withdraw her submission,
    rewrite its text or move its revision: that is her outage, or a shift lead's act. And
    no status change leaves the lifecycle, not even the author's."""
    draft_id = outage_lifecycle.create_draft(cluster.as_role(ANA), draft(cluster.ids), actor=ANA)
    oid = submitted(cluster)
    other = cluster.as_role(DMYTRO)
    refused(other, "DELETE FROM outage WHERE id = :id", "deleting someone else", id=draft_id)
    refused(other, "UPDATE outage SET status = 'draft' WHERE id = :id", "withdrawing", id=oid)
    refused(
        other,
        "UPDATE outage SET reason = 'FAKE: other text' WHERE id = :id",
        "changes only its window",
        id=oid,
    )
    refused(other, "UPDATE outage SET revision = revision + 5 WHERE id = :id", "revision", id=oid)
    # Nor may the author un-approve, or reopen what is final, past the lifecycle.
    done = approved(cluster)
    ana = cluster.as_role(ANA)
    for status in ("draft", "submitted", "completed"):
        refused(
            ana,
            "UPDATE outage SET status = :s WHERE id = :id",
            "does not go from approved",
            s=status,
            id=done,
        )
    with ana.begin() as conn:
        conn.execute(text("UPDATE outage SET status = 'cancelled' WHERE id = :id"), {"id": done})
    refused(ana, "UPDATE outage SET status = 'draft' WHERE id = :id", "from cancelled", id=done)
    # The author may still withdraw and delete their own.
    ana = cluster.as_role(ANA)
    with ana.begin() as conn:
        conn.execute(text("DELETE FROM outage WHERE id = :id"), {"id": draft_id})
    assert row(engine, oid)[0] == "submitted"


def test_approving_by_hand_records_the_real_approver(cluster: Cluster, engine: Engine) -> None:
    oid = submitted(cluster)
    with cluster.as_role(OLENA).begin() as conn:
        conn.execute(text(APPROVE + "WHERE id = :id"), {"who": "the_ceo", "id": oid})
    assert row(engine, oid) == ("approved", ANA, OLENA)
    # Past storage no audit row was written, so nothing of it may be sent; the approver's
    # own audit row (the database takes its actor from the session) makes it sendable,
    # in their name and with no hashes until the key's holder seals it.
    with engine.connect() as conn:
        assert oid not in set(conn.scalars(sendable_outage_ids()))
    refused(
        cluster.as_role(OLENA),
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) "
        "VALUES (now(), :who, 'approve', 'outage', :id, :d)",
        "must be the session user",
        who=BOHDAN,
        id=str(oid),
        d='{"revision": 1}',
    )
    with cluster.as_role(OLENA).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, "
                "prev_hash, hash) VALUES (now(), :who, 'approve', 'outage', :id, :d, 'x', 'y')"
            ),
            {"who": OLENA, "id": str(oid), "d": '{"revision": 1}'},
        )
    with engine.connect() as conn:
        assert oid in set(conn.scalars(sendable_outage_ids()))
        written = conn.execute(
            select(audit_log.c.prev_hash, audit_log.c.hash).order_by(audit_log.c.id.desc())
        ).first()
    assert tuple(written or ()) == (None, None)
    # approved_by changes only by approving, and an approved text changes only by amending.
    ana = cluster.as_role(ANA)
    refused(
        ana,
        "UPDATE outage SET approved_by = :w WHERE id = :id",
        "only by approving",
        w=BOHDAN,
        id=oid,
    )
    refused(ana, "UPDATE outage SET reason = 'x' WHERE id = :id", "only by amending", id=oid)


def test_authorship_is_the_session_user(cluster: Cluster, engine: Engine) -> None:
    oid = submitted(cluster)
    with cluster.as_role(ANA).begin() as conn:
        new = conn.execute(
            text(
                "INSERT INTO outage (utility_id, title, reason, starts_at, ends_at, urgent, "
                "status, channels, plan, texts, created_by, created_at, updated_at, revision, "
                "edit_cycle, affected_mps, affected_subscribers) "
                "SELECT utility_id, title, reason, starts_at, ends_at, urgent, 'draft', "
                "channels, plan, texts, :who, now(), now(), 1, 1, 0, 0 FROM outage "
                "WHERE id = :id RETURNING id"
            ),
            {"who": BOHDAN, "id": oid},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO outage_editor (outage_id, cycle, username, edited_at) "
                "VALUES (:id, 1, :who, now())"
            ),
            {"id": new, "who": OLENA},
        )
        conn.execute(
            text(
                "INSERT INTO channel_control (channel, paused, changed_by, changed_at) "
                "VALUES ('sms', true, :who, now())"
            ),
            {"who": BOHDAN},
        )
        editors = conn.scalars(
            text("SELECT username FROM outage_editor WHERE outage_id = :id"), {"id": new}
        ).all()
        paused_by = conn.scalar(text("SELECT changed_by FROM channel_control"))
    assert row(engine, new) == ("draft", ANA, None)
    assert editors == [ANA] and paused_by == ANA
    refused(
        cluster.as_role(ANA),
        APPROVE.replace("approved", "draft", 1) + ", created_by = :who WHERE id = :id",
        "author cannot be changed",
        who=OLENA,
        id=new,
    )


def test_a_dispatcher_cannot_write_the_outbox(cluster: Cluster, engine: Engine) -> None:
    oid = approved(cluster)
    ana = cluster.as_role(ANA)
    refused(
        ana,
        "INSERT INTO message (channel, address, language, body, segments, status, attempts, "
        "next_attempt_at, expires_at, created_at) VALUES ('sms', '+38640111222', 'sl', "
        "'FAKE: power off tomorrow', 1, 'pending', 0, now(), now() + interval '1 day', now())",
        "permission denied for table message",
    )
    refused(
        ana,
        "INSERT INTO notice (outage_id, kind, channels, due_at, status, outage_revision, "
        "audience, created_at) VALUES (:id, 'immediate', '[\"sms\"]', now(), 'scheduled', 1, "
        "'all', now())",
        "only by approving or cancelling",
        id=oid,
    )
    refused(ana, "UPDATE notice SET due_at = now()", "permission denied for table notice")
    refused(ana, "UPDATE notice SET status = 'due'", "only the engine changes a notice")
    refused(ana, "DELETE FROM notice", "permission denied for table notice")
    refused(ana, "UPDATE message SET body = 'FAKE'", "permission denied for table message")
    refused(
        ana,
        "INSERT INTO delivery_event (message_id, at, status, detail) "
        "VALUES (1, now(), 'delivered', 'ok')",
        "engine's evidence",
    )
    refused(ana, "INSERT INTO engine_process (id) VALUES ('x')", "permission denied")


def test_audit_rows_cannot_be_changed_or_forged(cluster: Cluster, engine: Engine) -> None:
    submitted(cluster)
    before = audit_rows(engine)
    ana = cluster.as_role(ANA)
    refused(ana, "UPDATE audit_log SET actor = 'mallory'", "permission denied|append-only")
    refused(ana, "DELETE FROM audit_log", "permission denied|append-only")
    refused(ana, "TRUNCATE audit_log", "permission denied|append-only")
    refused(
        ana,
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev_hash, hash) "
        "VALUES (now(), :who, 'approve', 'outage', '1', '{}', 'x', 'forged')",
        "must be the session user",
        who=BOHDAN,
    )
    assert audit_rows(engine) == before


def test_roles_cannot_be_changed_by_an_operator(cluster: Cluster, engine: Engine) -> None:
    ana = cluster.as_role(ANA)
    for group in ("dispatch_shift_lead", "dispatch_admin", "dispatch_engine"):
        refused(ana, f"GRANT {group} TO {ANA}", "permission denied|must have admin option")
    refused(ana, f"ALTER ROLE {ANA} CREATEROLE", "permission denied")
    refused(ana, "CREATE ROLE mallory LOGIN", "permission denied")
    refused(
        ana,
        "INSERT INTO role_change (username, role, changed_at, changed_by) "
        "VALUES (:me, 'shift_lead', now(), :admin)",
        "permission denied for table role_change",
        me=ANA,
        admin=ADMIN,
    )
    refused(ana, "UPDATE app_user SET role = 'admin'", "permission denied for table app_user")
    refused(
        ana,
        "INSERT INTO app_user (username, role, created_at) VALUES ('m', 'admin', now())",
        "permission denied for table app_user",
    )
    with engine.connect() as conn:
        member = conn.scalar(
            text("SELECT pg_has_role(:me, 'dispatch_shift_lead', 'MEMBER')"), {"me": ANA}
        )
    assert member is False


def test_psql_as_a_dispatcher(cluster: Cluster, engine: Engine) -> None:
    """The real psql binary, as the dispatcher's role: every statement refused, nothing
    changed."""
    psql = str(PSQL) if PSQL.exists() else shutil.which("psql")
    if psql is None:
        pytest.skip("psql not installed")
    approved(cluster)
    oid = submitted(cluster)
    before = audit_rows(engine)
    approve_sql = f"UPDATE outage SET status = 'approved', approved_by = '{BOHDAN}'"
    statements = [
        (f"{approve_sql} WHERE id = {oid}", "may not approve outages"),
        (
            "INSERT INTO message (channel, address, language, body, next_attempt_at, "
            "expires_at, created_at) VALUES ('sms', '+38640111222', 'sl', "
            "'FAKE: power off tomorrow', now(), now(), now())",
            "permission denied for table message",
        ),
        ("UPDATE notice SET status = 'due'", "only the engine changes a notice"),
        ("UPDATE audit_log SET actor = 'x'", "permission denied"),
        ("DELETE FROM audit_log", "permission denied"),
        (
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev_hash, "
            f"hash) VALUES (now(), '{BOHDAN}', 'x', 'x', '1', '{{}}', 'x', 'y')",
            "must be the session user",
        ),
        (f"GRANT dispatch_shift_lead TO {ANA}", "permission denied|must have admin option"),
        (
            "INSERT INTO role_change (username, role, changed_at, changed_by) "
            f"VALUES ('{ANA}', 'admin', now(), '{ADMIN}')",
            "permission denied",
        ),
    ]
    for statement, reason in statements:
        done = subprocess.run(
            [psql, cluster.psql_url(ANA), "-X", "-v", "ON_ERROR_STOP=1", "-c", statement],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode != 0, statement
        assert any(r in done.stderr for r in reason.split("|")), (statement, done.stderr)
    assert row(engine, oid) == ("submitted", ANA, None)
    assert audit_rows(engine) == before


def test_an_approved_outage_keeps_its_area_and_its_row(cluster: Cluster, engine: Engine) -> None:
    oid = approved(cluster)
    with engine.connect() as conn:
        area = conn.execute(text("SELECT * FROM outage_selection ORDER BY id")).all()
    ana = cluster.as_role(ANA)
    refused(ana, "DELETE FROM outage WHERE id = :id", "only drafts can be deleted", id=oid)
    refused(ana, "DELETE FROM outage_selection", "only a draft's area changes")
    refused(ana, "UPDATE outage_selection SET exclude = true", "only a draft's area changes")
    refused(
        ana,
        "INSERT INTO outage_selection (outage_id, node_id, exclude) "
        "SELECT :id, id, false FROM node",
        "only a draft's area changes",
        id=oid,
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM outage_selection ORDER BY id")).all() == area


def test_someone_elses_draft_is_a_shift_leads_to_edit(cluster: Cluster, engine: Engine) -> None:
    lead_s = outage_lifecycle.create_draft(
        cluster.as_role(BOHDAN), draft(cluster.ids), actor=BOHDAN
    )
    ana = cluster.as_role(ANA)
    refused(ana, "UPDATE outage SET reason = 'x' WHERE id = :id", "shift lead", id=lead_s)
    refused(ana, "DELETE FROM outage_selection WHERE outage_id = :id", "shift lead", id=lead_s)
    own = outage_lifecycle.create_draft(ana, draft(cluster.ids), actor=ANA)
    outage_lifecycle.update_draft(ana, own, draft(cluster.ids, reason="again"), actor=ANA)
    outage_lifecycle.delete_draft(ana, own, actor=ANA)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM outage WHERE id = :id"), {"id": own}) == 0
