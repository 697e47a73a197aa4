"""`dispatch-tui backup PATH`: a copy of the SQLite database taken while others write,
verified, private like the database, never over an existing file unless asked; restoring
it (copying it back) gives a database the app opens and `audit verify` passes. On
PostgreSQL the command says to use pg_dump."""

from __future__ import annotations

import grp
import os
import shutil
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, insert, select, update

from dispatch_tui.cli import main
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import audit
from dispatch_tui.storage.db import create_db_engine, write_transaction
from dispatch_tui.storage.tables import audit_log, delivery_event, message
from tests.engine.factory import make_outbox
from tests.missing import unavailable
from tests.security.audit_attacker import as_owner
from tests.storage.csvdata import FILES, write
from tests.tui.conftest import make_app, workers_done

ME = current_login()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {
        "DISPATCH_TUI_DATABASE_URL": db_url,
        "DISPATCH_TUI_AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit.key"),
        "DISPATCH_TUI_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors" / "audit.log"),
        "DISPATCH_TUI_AUDIT_SYSLOG_SOCKET": "",
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def ready(env: dict[str, str], tmp_path: Path) -> None:
    """A database with an admin (who runs the tests), the sample data and its audit rows."""
    assert run(env, "init", "--admin", ME).exit_code == 0
    for kind, content in FILES.items():
        assert run(env, "import", kind, str(write(tmp_path, f"{kind}.csv", content))).exit_code == 0


class Writer(threading.Thread):
    """What a running engine does to the database: message states, delivery events and
    audit rows, one short write transaction after another, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = create_db_engine(url)
        self.stop = threading.Event()
        self.writes = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with self.engine.connect() as conn:
                ids = list(conn.scalars(select(message.c.id)))
            while not self.stop.is_set():
                mid = ids[self.writes % len(ids)]
                now = datetime.now(UTC)
                with write_transaction(self.engine) as conn:
                    conn.execute(update(message).where(message.c.id == mid).values(status="sent"))
                    conn.execute(
                        insert(delivery_event),
                        {"message_id": mid, "at": now, "status": "sent", "detail": "ref"},
                    )
                    audit.append(
                        conn, actor="engine", action="test_write", entity="message", entity_id=mid
                    )
                self.writes += 1
                time.sleep(0.001)
        except BaseException as exc:  # reported by the test
            self.failure = exc
        finally:
            self.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_backup_taken_during_writes_restores_and_verifies(
    env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    ready(env, tmp_path)
    engine = create_db_engine(db_url)
    make_outbox(engine, 5000)
    writer = Writer(db_url)
    writer.start()
    try:
        while writer.writes < 20:
            time.sleep(0.01)
        before = writer.writes
        copy = tmp_path / "backups" / "dispatch.sqlite"
        copy.parent.mkdir()
        done = run(env, "backup", str(copy))
        during = writer.writes - before
        time.sleep(0.05)
    finally:
        writer.stop.set()
        writer.join()
    assert writer.failure is None, writer.failure
    assert done.exit_code == 0, done.output
    assert f"backup written to {copy}" in done.output
    assert "5,000 messages" in done.output
    assert "copy's audit log intact" in done.output and "anchors match" in done.output
    assert during > 0, "writers went on during the backup"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert sorted(p.name for p in copy.parent.iterdir()) == ["dispatch.sqlite"], "no leftovers"

    with engine.connect() as conn:
        [record] = conn.execute(select(audit_log).where(audit_log.c.action == "backup")).all()
        written = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert (record.actor, record.detail) == (ME, {"to": str(copy)})
    engine.dispose()

    # Restore: the copy goes back in place of the database (its -wal and -shm removed).
    database = Path(db_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, database)
    verified = run(env, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "audit log intact" in verified.output and "anchors match" in verified.output
    restored = create_db_engine(db_url)
    with restored.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        assert conn.execute(select(audit_log).where(audit_log.c.action == "backup")).first()
    assert rows < written, "rows written after the copy's moment are not in it"
    app = make_app(restored, ME)
    async with app.run_test(size=(80, 24)) as pilot:
        await workers_done(app)
        await pilot.pause()
        assert app.identity is not None and app.identity.role == "admin"
    restored.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_existing_file_is_replaced_only_when_asked(
    env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    ready(env, tmp_path)
    copy = tmp_path / "copy.sqlite"
    copy.write_text("yesterday's backup")
    refused = run(env, "backup", str(copy))
    assert refused.exit_code == 1
    assert f"{copy} exists: choose another file, or pass --force" in refused.output
    assert copy.read_text() == "yesterday's backup"
    Path(f"{copy}-wal").write_text("stale")
    replaced = run(env, "backup", "--force", str(copy))
    assert replaced.exit_code == 0, replaced.output
    assert not Path(f"{copy}-wal").exists(), "a stale -wal would be read as the copy's"
    itself = run(env, "backup", "--force", db_url.removeprefix("sqlite:///"))
    assert itself.exit_code == 1 and "is the database itself" in itself.output
    nowhere = run(env, "backup", str(tmp_path / "missing" / "copy.sqlite"))
    assert nowhere.exit_code == 1 and "is not a directory" in nowhere.output


def a_group() -> str:
    """A group this process may give files to, other than its own."""
    if os.getuid() == 0:
        return grp.getgrgid(1).gr_name
    others = [gid for gid in os.getgroups() if gid != os.getgid()]
    if not others:
        reason = "this user belongs to no second group to share a database with"
        unavailable(reason)
    return grp.getgrgid(others[0]).gr_name


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_copy_is_shared_like_the_database(env: dict[str, str], tmp_path: Path) -> None:
    ready(env, tmp_path)
    group = a_group()
    copy = tmp_path / "shared.sqlite"
    done = run({**env, "DISPATCH_TUI_DATABASE_GROUP": group}, "backup", str(copy))
    assert done.exit_code == 0, done.output
    info = copy.stat()
    assert (stat.S_IMODE(info.st_mode), grp.getgrgid(info.st_gid).gr_name) == (0o660, group)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_only_operators_back_up(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init", "--admin", "alice").exit_code == 0
    copy = tmp_path / "copy.sqlite"
    refused = run(env, "backup", str(copy))
    assert refused.exit_code == 1 and f"'{ME}' is not a dispatch-tui user" in refused.output
    assert not copy.exists()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_is_backed_up_with_pg_dump(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init", "--admin", ME).exit_code == 0
    refused = run(env, "backup", str(tmp_path / "copy.sqlite"))
    assert refused.exit_code == 1
    assert "pg_dump -Fc" in refused.output and "Backup and restore" in refused.output
    assert not (tmp_path / "copy.sqlite").exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_copy_whose_chain_does_not_verify_is_kept_and_said(
    env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    ready(env, tmp_path)
    engine = create_db_engine(db_url)
    with as_owner(engine) as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 2).values(actor="mallory"))
    engine.dispose()
    copy = tmp_path / "copy.sqlite"
    done = run(env, "backup", str(copy))
    assert done.exit_code == 1
    assert "copy's audit log row 2: content was edited" in done.output
    assert copy.exists(), "the copy is evidence too"
