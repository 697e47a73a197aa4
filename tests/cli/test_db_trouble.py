"""Database trouble ends in one clear line and a non-zero exit status, for
every command and for the app: an unreachable PostgreSQL, a locked SQLite
file, a file that is not a database, a data directory that cannot be made.
Real databases throughout; one case runs the installed command itself."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dispatch_tui.cli import main
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import migrate, users
from dispatch_tui.storage.db import create_db_engine
from tests.storage.csvdata import FILES, write

PASSWORD = "s3cret-pw"
COMMANDS: list[list[str]] = [
    [],  # the app
    ["init"],
    ["engine"],
    ["users", "list"],
    ["users", "add", "ana", "dispatcher"],
    ["audit", "verify"],
    ["import", "utilities", "{utilities}"],
]
IDS = ["app", "init", "engine", "users-list", "users-add", "audit-verify", "import"]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user config or data dir from the machine running the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def run(env: dict[str, str], args: list[str], tmp_path: Path) -> Result:
    utilities = write(tmp_path, "utilities.csv", FILES["utilities"])
    argv = [arg.format(utilities=utilities) for arg in args]
    return CliRunner().invoke(main, argv, env=env, catch_exceptions=False)


def one_clear_line(result: Result, *expected: str) -> str:
    """The output is one line saying `expected`, and the exit status is not 0."""
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_unreachable_postgresql(isolated: Path, args: list[str]) -> None:
    port = free_port()
    url = f"postgresql://dispatch:{PASSWORD}@127.0.0.1:{port}/dispatch"
    result = run({"DISPATCH_TUI_DATABASE_URL": url}, args, isolated)
    line = one_clear_line(
        result, f"dispatch:***@127.0.0.1:{port}/dispatch", "cannot connect", "database.url"
    )
    assert PASSWORD not in line


@pytest.fixture
def initialised(isolated: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A dispatch-tui SQLite database with its first admin (`users` commands would stop at
    the lack of one before they write) and the settings that name it."""
    path = isolated / "db.sqlite"
    env = {
        "DISPATCH_TUI_DATABASE_URL": f"sqlite:///{path}",
        "DISPATCH_TUI_DATABASE_BUSY_TIMEOUT_MS": "200",
    }
    engine = create_db_engine(env["DISPATCH_TUI_DATABASE_URL"])
    migrate.init_database(engine)
    users.bootstrap_admin(engine, current_login(), actor=current_login())
    engine.dispose()  # no pooled connection may stay open: the holder needs the file alone
    yield env, path


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_locked_sqlite(
    initialised: tuple[dict[str, str], Path], isolated: Path, args: list[str]
) -> None:
    """Another process holds the file exclusively (rollback journal, so
    even reading waits) for longer than the busy timeout."""
    env, path = initialised
    holder = sqlite3.connect(path, isolation_level=None, timeout=0.2)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run(env, args, isolated)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_clear_line(result, str(path), "locked by another process", "busy_timeout_ms")


@pytest.mark.parametrize(
    "args", [["import", "utilities", "{utilities}"], ["users", "add", "ana", "dispatcher"]]
)
def test_sqlite_write_lock_held(
    initialised: tuple[dict[str, str], Path], isolated: Path, args: list[str]
) -> None:
    """In WAL mode readers go on, but a command that writes waits for the
    writer, then says so."""
    env, path = initialised
    holder = sqlite3.connect(path, isolation_level=None, timeout=0.2)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run(env, args, isolated)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_clear_line(result, str(path), "locked by another process")


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_file_that_is_not_a_database(isolated: Path, args: list[str]) -> None:
    path = write(isolated, "notes.sqlite", "shopping list: milk, bread\n" * 200)
    result = run({"DISPATCH_TUI_DATABASE_URL": f"sqlite:///{path}"}, args, isolated)
    one_clear_line(result, str(path), "is not a SQLite database", "database.url")
    assert path.read_text().startswith("shopping list")


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_data_directory_cannot_be_created(isolated: Path, args: list[str]) -> None:
    """The directory would have to be made under a regular file (tests run as
    root, so permissions would not stop it)."""
    blocker = write(isolated, "file", "not a directory\n")
    path = blocker / "sub" / "db.sqlite"
    result = run({"DISPATCH_TUI_DATABASE_URL": f"sqlite:///{path}"}, args, isolated)
    one_clear_line(result, f"cannot create the directory {blocker / 'sub'}", str(path))


def test_default_data_directory_cannot_be_created(isolated: Path) -> None:
    """Without a URL the database lives in the user data directory."""
    blocker = write(isolated, "file", "not a directory\n")
    env = {"XDG_DATA_HOME": str(blocker / "sub")}
    one_clear_line(run(env, ["init"], isolated), "cannot create the directory", str(blocker))


def test_demo_data_directory_cannot_be_created(isolated: Path) -> None:
    blocker = write(isolated, "file", "not a directory\n")
    env = {"XDG_DATA_HOME": str(blocker / "sub")}
    result = run(env, ["demo", "--no-app"], isolated)
    one_clear_line(result, "cannot create the directory", str(blocker))


def test_the_installed_command_prints_one_line(isolated: Path) -> None:
    """The real entry point, in its own process: the app against a server
    that is not there."""
    url = f"postgresql://dispatch:{PASSWORD}@127.0.0.1:{free_port()}/dispatch"
    command = [sys.executable, "-c", "from dispatch_tui.cli import main; main()"]
    env = {**os.environ, "DISPATCH_TUI_DATABASE_URL": url, "COLUMNS": "60"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0], done.stderr
    assert PASSWORD not in done.stderr


def test_headless_engine_waits_for_the_write_lock_then_says_so(
    initialised: tuple[dict[str, str], Path],
) -> None:
    """The engine reads its schema, then must write to register itself; with
    another writer holding the lock past the busy timeout it stops with the
    one line (its own log starts only after the schema check)."""
    env, path = initialised
    holder = sqlite3.connect(path, isolation_level=None, timeout=0.2)
    holder.execute("BEGIN EXCLUSIVE")
    command = [sys.executable, "-c", "from dispatch_tui.cli import main; main()", "engine"]
    token = {"DISPATCH_TUI_ENGINE_REPORT_TOKEN": "db-trouble-report-token_0123456789abc"}
    try:
        done = subprocess.run(
            command, env={**os.environ, **env, **token}, capture_output=True, text=True, timeout=60
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "locked by another process" in lines[0], done.stderr
