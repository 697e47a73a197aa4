"""`dispatch-tui export readings --period`: the readings accepted for a period, one row
per metering point with its channel and time; bad arguments named, nothing written."""

from __future__ import annotations

import csv
import io
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dispatch_tui.cli import main
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import inbound, users
from dispatch_tui.storage.db import create_db_engine
from tests.storage.csvdata import load_all

ME = current_login()
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    engine = create_db_engine(db_url)
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, ME, actor=ME)
    for text, at in (
        ("100000002 12345", NOW - timedelta(days=30)),  # October
        ("100000002 12400", NOW),
        ("100000002 12401,5", NOW + timedelta(hours=1)),  # replaces the one before
        ("100000001 777", NOW),
    ):
        inbound.handle_inbound(engine, sender="+380501234567", receiver="ZOE", text=text, now=at)
    engine.dispose()
    return {"DISPATCH_TUI_DATABASE_URL": db_url, "DISPATCH_TUI_AUDIT_SYSLOG_SOCKET": ""}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_one_row_per_metering_point_to_stdout_or_a_private_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run(env, "export", "readings", "--period", "2026-11")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [
        (r["account"], r["metering_point"], r["reading_kwh"], r["consumption_kwh"], r["channel"])
        for r in rows
    ] == [
        ("100000002", "100000001", "777", "", "sms"),
        ("100000002", "100000002", "12401.5", "56.5", "sms"),
    ]
    assert rows[1]["received_at"] == "2026-11-30T11:00:00+00:00"
    target = tmp_path / "out" / "readings.csv"
    target.parent.mkdir()
    written = run(
        env, "export", "readings", "--period", "2026-10", "--utility", "ZOE", "-o", str(target)
    )
    assert written.exit_code == 0 and "1 reading(s) written" in written.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = run(env, "export", "readings", "--period", "2026-10", "-o", str(target))
    assert again.exit_code == 1 and "--force" in again.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--period", "2026-13"], "give a month as YYYY-MM"),
        (["--period", "11/2026"], "give a month as YYYY-MM"),
        (["--period", "2026-11", "--utility", "XX"], "no such utility"),
    ],
)
def test_bad_arguments_are_named_and_nothing_is_written(
    env: dict[str, str], tmp_path: Path, args: list[str], said: str
) -> None:
    target = tmp_path / "readings.csv"
    result = run(env, "export", "readings", *args, "-o", str(target))
    assert result.exit_code == 1 and said in result.output
    assert not target.exists()
