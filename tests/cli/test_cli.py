"""The command line, run in-process with an isolated config and data dir."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from dispatch_tui.cli import main
from dispatch_tui.config import load_settings, report_token_ok
from dispatch_tui.storage.db import create_db_engine
from tests.security.audit_attacker import as_owner
from tests.storage.csvdata import FILES, dump, write


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {"DISPATCH_TUI_DATABASE_URL": db_url}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_init_on_a_fresh_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    env = {"DISPATCH_TUI_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'db.sqlite'}"}
    first = run(env, "init")
    assert first.exit_code == 0 and "(created)" in first.output
    again = run(env, "init")
    assert again.exit_code == 0 and "(up to date)" in again.output


def test_init_writes_a_report_token_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The listener needs a token that stays the same across restarts: `init` makes one
    into the user's config file (0600) unless one is configured, and never replaces it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    env = {"DISPATCH_TUI_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    written = tmp_path / "config" / "dispatch-tui" / "config.toml"
    first = run(env, "init")
    assert first.exit_code == 0
    assert f"engine.report_token generated and written to {written} (mode 0600)" in first.output
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    token = tomllib.loads(written.read_text())["engine"]["report_token"]
    assert report_token_ok(token)
    assert load_settings(None, env={}).engine_report_token == token

    again = run(env, "init")
    assert again.exit_code == 0 and "report_token" not in again.output
    assert tomllib.loads(written.read_text())["engine"]["report_token"] == token
    shown = run(env, "config", "show").output
    assert "engine.report_token = ***" in shown and token not in shown

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other"))
    configured = {
        **env,
        "DISPATCH_TUI_ENGINE_REPORT_TOKEN": "configured-elsewhere_0123456789abcdef",
    }
    third = run(configured, "init")
    assert third.exit_code == 0 and "report_token" not in third.output
    assert not (tmp_path / "other" / "dispatch-tui" / "config.toml").exists()


def test_a_headless_engines_token_is_its_service_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `engine.embedded = false` (a shared host) `init` is the database superuser's
    act and writes no token into that account's home; the engine's account runs
    `config token`, once."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    env = {
        "DISPATCH_TUI_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "DISPATCH_TUI_ENGINE_EMBEDDED": "false",
    }
    written = tmp_path / "config" / "dispatch-tui" / "config.toml"
    assert run(env, "init").exit_code == 0
    assert not written.exists()
    made = run(env, "config", "token")
    assert made.exit_code == 0 and f"written to {written} (mode 0600)" in made.output
    assert report_token_ok(tomllib.loads(written.read_text())["engine"]["report_token"])
    assert "already set" in run(env, "config", "token").output


def test_newer_database_is_refused(env: dict[str, str], db_url: str) -> None:
    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    for args in (["init"], ["audit", "verify"], []):
        result = run(env, *args)
        assert result.exit_code == 1
        assert "newer dispatch-tui" in result.output
        assert "Traceback" not in result.output


def test_app_refuses_an_uninitialised_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = run({"DISPATCH_TUI_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert result.exit_code == 1
    assert "run `dispatch-tui init`" in result.output


def test_config_show_names_sources(env: dict[str, str], tmp_path: Path) -> None:
    site = write(tmp_path, "site.toml", "[sms]\nmax_segments = 4\n")
    result = run(env, "--config", str(site), "config", "show")
    assert result.exit_code == 0
    assert "env DISPATCH_TUI_DATABASE_URL" in result.output
    assert str(site) in result.output
    assert "default" in result.output


def test_bad_config_value_names_key_and_place(env: dict[str, str], tmp_path: Path) -> None:
    result = run({**env, "DISPATCH_TUI_SMS_MAX_SEGMENTS": "lots"}, "config", "show")
    assert result.exit_code == 2
    assert "DISPATCH_TUI_SMS_MAX_SEGMENTS" in result.output and "sms.max_segments" in result.output
    site = write(tmp_path, "bad.toml", "[sms]\ngateway = 'carrier-pigeon'\n")
    result = run(env, "--config", str(site), "config", "show")
    assert result.exit_code == 2
    assert str(site) in result.output and "sms.gateway" in result.output


def test_import_then_reimport(env: dict[str, str], tmp_path: Path) -> None:
    for kind, content in FILES.items():
        result = run(env, "import", kind, str(write(tmp_path, f"{kind}.csv", content)))
        assert result.exit_code == 0, result.output
        assert "new" in result.output
    result = run(env, "import", "subscribers", str(tmp_path / "subscribers.csv"))
    assert "0 new, 0 changed, 5 unchanged" in result.output


def test_bad_import_exits_with_the_errors(env: dict[str, str], tmp_path: Path, db_url: str) -> None:
    before = dump(create_db_engine(db_url))
    bad = write(tmp_path, "bad.csv", "utility,code,parent,kind,name\nNOPE,A,,region,A\n")
    result = run(env, "import", "network", str(bad))
    assert result.exit_code == 1
    assert "line 2: unknown utility 'NOPE'" in result.output
    assert dump(create_db_engine(db_url)) == before


def test_audit_verify_detects_edits_and_gaps(
    env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    for kind, content in FILES.items():
        run(env, "import", kind, str(write(tmp_path, f"{kind}.csv", content)))
    assert "intact: 4 rows" in run(env, "audit", "verify").output
    engine = create_db_engine(db_url)
    with as_owner(engine) as conn:  # past PostgreSQL's append-only trigger, as its owner can
        actor = conn.execute(text("SELECT actor FROM audit_log WHERE id = 2")).scalar_one()
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
    result = run(env, "audit", "verify")
    assert result.exit_code == 1
    assert "row 2: content was edited" in result.output
    with as_owner(engine) as conn:
        conn.execute(text("UPDATE audit_log SET actor = :actor WHERE id = 2"), {"actor": actor})
    assert run(env, "audit", "verify").exit_code == 0
    with as_owner(engine) as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 3"))
    result = run(env, "audit", "verify")
    assert result.exit_code == 1
    assert "row 4: previous-hash link broken (a row before it is missing)" in result.output
    engine.dispose()
