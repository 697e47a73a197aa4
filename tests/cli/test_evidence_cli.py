"""`dispatch-tui export evidence OUTAGE`: CSV on stdout and the summary on stderr, or
both in private files; no file replaced unless asked, nothing left behind by a refusal,
bad arguments named."""

from __future__ import annotations

import csv
import io
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from dispatch_tui.cli import main
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import outbox
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import audit_log, notice
from tests.engine.factory import make_outbox

ME = current_login()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {"DISPATCH_TUI_DATABASE_URL": db_url, "DISPATCH_TUI_AUDIT_SYSLOG_SOCKET": ""}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def sent_outage(db_url: str) -> int:
    """An outage of three SMS: one delivered, one refused, one still waiting."""
    engine = create_db_engine(db_url)
    notice_id = make_outbox(engine, 3)
    now = datetime.now(UTC)
    claimed = outbox.claim_batch(engine, owner="test", channels=["sms"], limit=2, now=now)
    later = now + timedelta(seconds=1)
    results = [
        outbox.Result(claimed[0].id, "sent", gateway_ref="ref-1"),
        outbox.Result(claimed[1].id, "failed", reason=f"{claimed[1].address} denied"),
    ]
    outbox.record_results(engine, owner="test", results=results, now=later)
    outbox.apply_report(engine, claimed[0].id, "delivered", "kannel 1", now=later)
    with engine.connect() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == notice_id)
        ).scalar_one()
    engine.dispose()
    return int(outage_id)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_csv_to_stdout_and_summary_to_stderr(env: dict[str, str], db_url: str) -> None:
    assert run(env, "init", "--admin", ME).exit_code == 0
    outage_id = sent_outage(db_url)
    done = run(env, "export", "evidence", str(outage_id))
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["event"], r["report"]) for r in rows] == [
        ("sent", "no"),
        ("delivered", "yes"),
        ("failed", "no"),
        ("", ""),
    ]
    assert rows[2]["detail"] == "+386*****001 denied"
    assert "+38640000001" not in done.stdout
    assert "sms: 3 — delivered 1, failed 1, pending 1" in done.stderr
    assert "delivered before the outage start 1 of 3 (33.3%)" in done.stderr


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_output_files_are_private_and_kept_unless_forced(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    assert run(env, "init", "--admin", ME).exit_code == 0
    outage_id = sent_outage(db_url)
    target = tmp_path / "claims" / "evidence.csv"
    done = run(env, "export", "evidence", str(outage_id), "--output", str(target))
    assert done.exit_code == 0, done.output
    beside = tmp_path / "claims" / "evidence.summary.txt"
    assert f"written to {target} (summary: {beside})" in done.output
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(beside.stat().st_mode) == 0o600
    assert len(target.read_text().splitlines()) == 5
    assert "messages: 3 (CSV rows: 4)" in beside.read_text()

    again = run(env, "export", "evidence", str(outage_id), "-o", str(target))
    assert again.exit_code == 1 and f"{target} exists" in again.output
    forced = run(env, "export", "evidence", str(outage_id), "-o", str(target), "--force")
    assert forced.exit_code == 0, forced.output

    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        records = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(
                audit_log.c.action == "export_evidence"
            )
        ).all()
    engine.dispose()
    assert records == [(ME, {"rows": 4, "messages": 3, "to": str(target)})] * 2


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_bad_outages_are_named_and_leave_nothing(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    assert run(env, "init", "--admin", ME).exit_code == 0
    target = tmp_path / "evidence.csv"
    missing = run(env, "export", "evidence", "999", "-o", str(target))
    assert missing.exit_code == 1 and "outage 999 does not exist" in missing.output
    assert list(tmp_path.glob("evidence*")) == []
    for bad in ("abc", "0"):
        refused = run(env, "export", "evidence", bad)
        assert refused.exit_code == 2 and "OUTAGE" in refused.output
