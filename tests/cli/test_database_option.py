"""A shared host: the configured database is one, the demo another. Every command takes
`--database`, `demo` says how to use it, and `users` before the first admin says how
that admin is made."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dispatch_tui.cli import main
from dispatch_tui.os_user import current_login


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A configured database that is never initialised: what a command must not fall back to."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {"DISPATCH_TUI_DATABASE_URL": f"sqlite:///{tmp_path / 'configured.sqlite'}"}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_demo_says_how_the_other_commands_reach_it(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    demo = tmp_path / "demo.sqlite"
    built = run(isolated, "demo", "--no-app", "--database", str(demo))
    assert built.exit_code == 0, built.output
    assert f"dispatch-tui users list --database {demo}" in built.output
    assert f"export DISPATCH_TUI_DATABASE_URL=sqlite:///{demo}" in built.output

    listing = run(isolated, "users", "list", "--database", str(demo))
    assert listing.exit_code == 0, listing.output
    assert f"{current_login():<24} admin" in listing.output
    verified = run(isolated, "audit", "verify", "--database", str(demo))
    assert verified.exit_code == 0 and "intact" in verified.output
    shown = run(isolated, "config", "show", "--database", str(demo)).output
    assert f"database.url = sqlite:///{demo}" in shown and "# --database" in shown
    before = run(isolated, "--database", str(demo), "users", "list")
    assert before.output == listing.output


def test_every_command_that_opens_the_database_takes_database(isolated: dict[str, str]) -> None:
    for command in (
        ["engine"],
        ["init"],
        ["users", "list"],
        ["users", "add"],
        ["users", "set-role"],
        ["users", "remove"],
        ["import"],
        ["config", "show"],
        ["audit", "seal"],
        ["audit", "verify"],
        ["demo"],
    ):
        assert "--database" in run(isolated, *command, "--help").output, command


def test_an_empty_database_is_named_with_where_it_came_from(isolated: dict[str, str]) -> None:
    refused = run(isolated, "audit", "verify")
    assert refused.exit_code == 1
    assert "configured.sqlite (database.url from env DISPATCH_TUI_DATABASE_URL)" in refused.output
    assert "--database" in refused.output


def test_a_database_that_is_no_url_or_file_is_refused(isolated: dict[str, str]) -> None:
    refused = run(isolated, "users", "list", "--database", "mysql://db/outages")
    assert refused.exit_code == 2 and "--database" in refused.output


def test_users_before_the_first_admin_say_to_run_init_admin(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh.sqlite"
    assert run(isolated, "init", "--database", str(fresh)).exit_code == 0
    for command in (["list"], ["add", "bob", "viewer"], ["set-role", "bob", "admin"]):
        refused = run(isolated, "users", *command, "--database", str(fresh))
        assert refused.exit_code == 1, command
        assert f"dispatch-tui init --database {fresh} --admin LOGIN" in refused.output
    admin = run(isolated, "init", "--database", str(fresh), "--admin", current_login())
    assert admin.exit_code == 0
    assert run(isolated, "users", "add", "bob", "viewer", "--database", str(fresh)).exit_code == 0
