"""The audit key belongs to the engine's service account (issue 10: "readable only by
the service account"): an operator's process may not read it, so it writes its audit
rows without hashes and the key's holder seals them, in order. Nobody else can seal,
unseal or re-seal a row; `audit verify` tells rows waiting to be sealed from rows whose
hashes were removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update

from dispatch_tui.os_user import current_login
from dispatch_tui.storage import audit
from dispatch_tui.storage.tables import audit_log
from tests.cli.os_users import available, shared_database
from tests.security.audit_attacker import as_owner, audit_files, decisions
from tests.security.pg_roles import ANA, SENDER, Cluster, cluster

__all__ = ["audit_files", "cluster"]

pytestmark = pytest.mark.usefixtures("audit_files")


def hashes(engine: Engine) -> list[str | None]:
    with engine.connect() as conn:
        return list(conn.scalars(select(audit_log.c.hash).order_by(audit_log.c.id)))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_rows_of_an_operator_without_the_key_wait_for_its_holder(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """Real OS users: what admin dt_ana does is audited unsealed; the key's holder seals
    it; dt_eve can neither read the key nor seal."""
    available()
    with shared_database(backend, request, private_key=True) as shared:
        assert shared.run(None, "init", "--admin", current_login()).returncode == 0
        assert shared.run(None, "users", "add", "dt_ana", "admin").returncode == 0
        added = shared.run("dt_ana", "users", "add", "dt_bohdan", "viewer")
        assert added.returncode == 0, added.stderr
        assert "audit key" not in added.stderr, added.stderr
        waiting = shared.run(None, "audit", "verify")
        assert waiting.returncode == 0, waiting.stderr
        assert "the 1 newest wait to be sealed by the key's holder" in waiting.stdout
        cannot = shared.run("dt_eve", "audit", "seal")
        assert cannot.returncode == 1
        assert "this account cannot read the audit key" in cannot.stderr
        sealed = shared.run(None, "audit", "seal")
        assert sealed.returncode == 0 and "1 audit row(s) sealed" in sealed.stdout
        intact = shared.run(None, "audit", "verify")
        assert intact.returncode == 0 and "wait" not in intact.stdout, intact.stdout
        assert Path(shared.env["DISPATCH_TUI_AUDIT_KEY_FILE"]).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_database_decides_who_seals(cluster: Cluster, engine: Engine) -> None:
    """A dispatcher's rows get no hashes, even from a process holding the key (what it
    sends is blanked); only the engine's role seals them, once, in order."""
    ana = cluster.as_role(ANA)
    before = len(hashes(engine))
    decisions(ana, 3, actor=ANA)
    assert hashes(engine)[before:] == [None, None, None]
    with ana.begin() as conn:
        assert audit.seal(conn) is None, "a dispatcher may not seal"
    with pytest.raises(Exception, match="permission denied"), ana.begin() as conn:
        conn.execute(text("UPDATE audit_log SET hash = 'x', prev_hash = 'y' WHERE hash IS NULL"))
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok and result.unsealed == 3, result.message
    sealed = audit.seal_pending(cluster.as_role(SENDER))
    assert sealed is not None and sealed.rows == 3
    assert None not in hashes(engine)
    with engine.connect() as conn:
        assert audit.verify(conn).ok
    # Sealed is sealed: the engine's role can neither re-seal nor unseal a row.
    for statement in (
        "UPDATE audit_log SET hash = repeat('1', 64) WHERE id = (SELECT max(id) FROM audit_log)",
        "UPDATE audit_log SET hash = NULL, prev_hash = NULL "
        "WHERE id = (SELECT max(id) FROM audit_log)",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            cluster.as_role(SENDER).begin() as conn,
        ):
            conn.execute(text(statement))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_row_whose_hashes_were_removed_is_named(engine: Engine) -> None:
    """Removing a row's hashes (to edit it and have it sealed again) shows: sealed rows
    follow it, and a row that waits is only ever at the end."""
    decisions(engine, 5)
    with as_owner(engine) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(hash=None, prev_hash=None))
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(actor="mallory"))
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.first_bad_id == 3
    assert "its hashes were removed" in result.problem
    # Sealing does not paper over it: only rows after the last sealed one are sealed.
    assert audit.seal_pending(engine) is not None
    with engine.connect() as conn:
        assert audit.verify(conn).first_bad_id == 3
