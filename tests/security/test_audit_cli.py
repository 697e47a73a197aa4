"""`dispatch-tui init` makes the audit key and anchors the head; `dispatch-tui audit verify`
compares the log with the anchor file and with journal lines, and names a removed tail
(issue 10, attack 6). The real CLI on both backends."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete

from dispatch_tui.cli import main
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import audit_log
from tests.security.audit_attacker import as_owner
from tests.storage.csvdata import FILES, write


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


def test_init_makes_the_key_and_verify_names_a_removed_tail(
    env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    first = run(env, "init")
    assert first.exit_code == 0, first.output
    key = tmp_path / "keys" / "audit.key"
    assert f"audit key written to {key}" in first.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "audit key" not in run(env, "init").output, "a second init keeps the key"
    for kind, content in FILES.items():
        assert run(env, "import", kind, str(write(tmp_path, f"{kind}.csv", content))).exit_code == 0
    anchors = tmp_path / "anchors" / "audit.log"
    assert run(env, "init").exit_code == 0, "init anchors the head"
    assert len(anchors.read_text().splitlines()) == 1
    assert run(env, "audit", "verify").output.strip() == (
        "audit log intact: 4 rows, 1 anchors match"
    )

    # The anchor file went with the attacker's changes; the journal kept its copy.
    journal = tmp_path / "journal.txt"
    journal.write_text("dispatch-tui: dispatch-tui audit anchor " + anchors.read_text())
    anchors.unlink()
    engine = create_db_engine(db_url)
    with as_owner(engine) as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id > 2))
    engine.dispose()
    assert run(env, "audit", "verify").exit_code == 0, "neither chain nor file can show it"
    result = run(env, "audit", "verify", "--anchors", str(journal))
    assert result.exit_code == 1
    assert "row 3: the log ends at row 2, but row 4 was anchored" in result.output


def test_verify_without_the_key_says_where_it_looked(env: dict[str, str], tmp_path: Path) -> None:
    result = run(
        {**env, "DISPATCH_TUI_AUDIT_KEY_FILE": str(tmp_path / "lost.key")}, "audit", "verify"
    )
    assert result.exit_code == 2
    assert "lost.key: no audit key here" in result.output
    assert not (tmp_path / "lost.key").exists()
