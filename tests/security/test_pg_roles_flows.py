"""The normal flows still work on PostgreSQL when everybody connects as their own role:
a dispatcher drafts, submits, cancels and pulls the monitor's levers, a shift lead
approves, the engine's service account sends, an admin manages users (and with them the
database roles). And storage used as role A in B's name is refused (issue 10, attack 1)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select, text, update
from sqlalchemy.engine import make_url

from dispatch_tui import cli
from dispatch_tui.storage import (
    audit,
    audit_anchor,
    db_roles,
    monitor,
    outage_lifecycle,
    subscribers,
    users,
)
from dispatch_tui.storage.tables import audit_log, contact, message, notice, outage
from tests.engine.conftest import Recording, running, until
from tests.security.audit_attacker import audit_files
from tests.security.pg_roles import ADMIN, ANA, BOHDAN, SENDER, VIKTOR, Cluster, cluster
from tests.storage.test_outages import draft

__all__ = ["audit_files", "cluster"]

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def approve(c: Cluster, oid: int, approver: str) -> None:
    db = c.as_role(approver)
    with db.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid)
    outage_lifecycle.approve(db, oid, actor=approver, warnings_seen=warnings)


def drafted_and_approved(c: Cluster) -> int:
    ana = c.as_role(ANA)
    oid = outage_lifecycle.create_draft(ana, draft(c.ids), actor=ANA)
    outage_lifecycle.update_draft(ana, oid, draft(c.ids, reason="zamenjava"), actor=ANA)
    outage_lifecycle.submit(ana, oid, actor=ANA)
    approve(c, oid, BOHDAN)
    return oid


def test_draft_submit_approve_cancel_as_their_own_roles(cluster: Cluster, engine: Engine) -> None:
    oid = drafted_and_approved(cluster)
    with engine.connect() as conn:
        state = conn.execute(
            select(outage.c.status, outage.c.created_by, outage.c.approved_by).where(
                outage.c.id == oid
            )
        ).one()
        assert tuple(state) == ("approved", ANA, BOHDAN)
        assert conn.scalar(select(notice.c.id).where(notice.c.outage_id == oid)) is not None
    outage_lifecycle.cancel(cluster.as_role(ANA), oid, actor=ANA, reason="works postponed")
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(
                select(notice.c.kind, notice.c.status).where(notice.c.outage_id == oid)
            ).all()
        )
        actors = set(conn.scalars(select(audit_log.c.actor)))
        assert audit.verify(conn).ok
    assert set(kinds.values()) == {"cancelled"}, "nobody was told yet: nothing to cancel"
    assert {ANA, BOHDAN} <= actors


def test_storage_as_one_role_in_anothers_name_is_refused(cluster: Cluster, engine: Engine) -> None:
    """The app checks the OS login against session_user at start; should a client skip
    that, the database still refuses rows in another's name."""
    with pytest.raises(Exception, match="must be the session user"):
        outage_lifecycle.create_draft(cluster.as_role(ANA), draft(cluster.ids), actor=BOHDAN)
    oid = outage_lifecycle.create_draft(cluster.as_role(ANA), draft(cluster.ids), actor=ANA)
    outage_lifecycle.submit(cluster.as_role(ANA), oid, actor=ANA)
    # A dispatcher's session claiming to be the shift lead: refused by the database.
    with engine.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, oid)
    with pytest.raises(Exception, match="may not approve outages"):
        outage_lifecycle.approve(cluster.as_role(ANA), oid, actor=BOHDAN, warnings_seen=warnings)
    # The lead's session in the dispatcher's name: storage refuses, and even the audit
    # row of that refusal may not name the dispatcher.
    with pytest.raises(Exception, match="must be the session user"):
        outage_lifecycle.approve(cluster.as_role(BOHDAN), oid, actor=ANA)


def test_the_identity_checks(cluster: Cluster, engine: Engine) -> None:
    with cluster.as_role(ANA).connect() as conn:
        assert db_roles.identity_refusal(conn, ANA) is None
        refusal = db_roles.identity_refusal(conn, BOHDAN)
        assert refusal is not None and f"you are {BOHDAN}" in refusal and ANA in refusal
        refusal = db_roles.engine_refusal(conn)
        assert refusal is not None and "dispatch_engine" in refusal
    with cluster.as_role(SENDER).connect() as conn:
        assert db_roles.engine_refusal(conn) is None
    with engine.connect() as conn:  # a superuser: init and migrations
        assert db_roles.identity_refusal(conn, "anyone") is None


def test_an_admin_manages_users_and_their_database_roles(cluster: Cluster, engine: Engine) -> None:
    admin = cluster.as_role(ADMIN)
    login = f"pgnew_{ADMIN.rsplit('_', 1)[1]}"

    def groups() -> set[str]:
        with engine.connect() as conn:
            return set(
                conn.scalars(
                    text(
                        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON "
                        "g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
                        "WHERE u.rolname = :u"
                    ),
                    {"u": login},
                )
            )

    users.add_operator(admin, login, "dispatcher", actor=ADMIN)
    assert groups() == {"dispatch_dispatcher"}
    users.set_role(admin, login, "shift_lead", actor=ADMIN)
    assert groups() == {"dispatch_shift_lead"}
    users.remove_operator(admin, login, actor=ADMIN)
    assert groups() == set()
    with pytest.raises(users.UserError, match="only an admin"):
        users.add_operator(cluster.as_role(ANA), "mallory", "admin", actor=ANA)
    with pytest.raises(Exception, match="permission denied"):
        users.add_operator(cluster.as_role(VIKTOR), "mallory", "admin", actor=ADMIN)


async def test_the_engine_role_sends_and_operators_pull_the_levers(
    audit_files: audit_anchor.AnchorTargets, cluster: Cluster, engine: Engine
) -> None:
    oid = drafted_and_approved(cluster)
    with engine.begin() as conn:  # the first notice is due now
        first = conn.scalars(
            select(notice.c.id).where(notice.c.outage_id == oid).order_by(notice.c.due_at)
        ).first()
        assert first is not None
        conn.execute(update(notice).where(notice.c.id == first).values(due_at=datetime.now(UTC)))
    sms, email = Recording("sms"), Recording("email")

    def sent() -> bool:
        with engine.connect() as conn:
            return bool(
                conn.scalar(
                    select(message.c.id).where(
                        message.c.notice_id == first, message.c.status.in_(("sent", "delivered"))
                    )
                )
            )

    def approval_sealed() -> bool:
        with engine.connect() as conn:
            return None not in conn.scalars(
                select(audit_log.c.hash).where(audit_log.c.action == "approve")
            )

    # The shift lead's process may not seal: the approval row waits for the engine's role,
    # which seals it and anchors the head at once.
    assert not approval_sealed()
    async with running(cluster.as_role(SENDER), {"sms": sms, "email": email}):
        await until(sent, what="the engine's role to send")
        await until(approval_sealed, what="the engine's role to seal the approval")
    label = audit_anchor.database_label(engine.url)
    reasons = [a.reason for a in audit_anchor.read_anchors(audit_files.file, label)]
    assert "approval" in reasons
    assert sms.messages or email.messages
    ana = cluster.as_role(ANA)
    monitor.set_paused(ana, "sms", True, actor=ANA)
    monitor.retry_failed(ana, first, actor=ANA)
    monitor.cancel_pending(ana, first, actor=ANA)
    with engine.connect() as conn:
        someone = conn.scalar(select(contact.c.id).where(contact.c.consent == "opted_in"))
    assert someone is not None
    subscribers.record_opt_out(ana, someone, actor=ANA, reason="asked by phone")
    with engine.connect() as conn:
        assert conn.scalar(select(contact.c.consent).where(contact.c.id == someone)) == (
            "opted_out"
        )
    # Those told are told of the cancellation: a notice a dispatcher's cancel creates.
    outage_lifecycle.cancel(ana, oid, actor=ANA, reason="works postponed")
    with engine.connect() as conn:
        kinds = set(conn.scalars(select(notice.c.kind).where(notice.c.outage_id == oid)))
        assert "cancellation" in kinds
        assert audit.verify(conn).ok


def test_the_cli_refuses_a_database_user_who_is_not_the_os_login(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    as_ana = make_url(cluster.url).set(username=ANA).render_as_string(hide_password=False)
    env = {"DISPATCH_TUI_DATABASE_URL": as_ana}

    def run(login: str, *args: str) -> Result:
        monkeypatch.setattr(cli, "current_login", lambda: login)
        return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)

    refused = run(BOHDAN, "users", "list")
    assert refused.exit_code == 1
    assert f"you are {BOHDAN} but the database session is {ANA}" in refused.output
    listed = run(ANA, "users", "list")
    assert listed.exit_code == 0 and ANA in listed.output
    engine_refused = run(ANA, "engine")
    assert engine_refused.exit_code == 1 and "dispatch_engine" in engine_refused.output
