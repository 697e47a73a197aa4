"""Issue 10, attack 8 (files): the database, its -wal/-shm files and the data directory
were created world-readable. SQLite is one trust domain, so they are now made without
world bits, whatever the umask: 0700/0600 by default, 2770/0660 owned by `database.group`
when a team shares the file. Checked after `dispatch-tui init` and while the headless
engine has the database open (WAL files), run as real processes with umask 022."""

from __future__ import annotations

import grp
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.os_users import DISPATCH_TUI, GROUP, available
from tests.missing import unavailable

TOKEN = "files-modes-report-token_0123456789abcdef"


def mode_and_group(path: Path) -> tuple[int, str]:
    info = path.stat()
    return stat.S_IMODE(info.st_mode), grp.getgrgid(info.st_gid).gr_name


def environment(tmp_path: Path, data: Path, group: str = "") -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "DISPATCH_TUI_DATABASE_URL": f"sqlite:///{data / 'db.sqlite'}",
        "DISPATCH_TUI_DATABASE_GROUP": group,
        "DISPATCH_TUI_ENGINE_REPORT_TOKEN": TOKEN,
        "DISPATCH_TUI_ENGINE_LISTEN_PORT": "0",
    }


def dispatch_tui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DISPATCH_TUI), *args],
        env=env,
        umask=0o022,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def engine_running() -> Iterator[list[subprocess.Popen[str]]]:
    """Headless engines started by a test, stopped at its end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def with_engine_open(env: dict[str, str], data: Path, started: list[subprocess.Popen[str]]) -> None:
    """Start `dispatch-tui engine` (umask 022) and wait until SQLite made its WAL files."""
    process = subprocess.Popen(
        [str(DISPATCH_TUI), "engine"],
        env=env,
        umask=0o022,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    deadline = time.monotonic() + 60
    while not all((data / f"db.sqlite{suffix}").exists() for suffix in ("-wal", "-shm")):
        if process.poll() is not None:
            pytest.fail(f"the engine stopped: {process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            pytest.fail("the engine never opened the database in WAL mode")
        time.sleep(0.1)


def a_group_to_share_with() -> str:
    """A group this process may give files to: the test users' group as root, else one
    of this user's supplementary groups."""
    if os.getuid() == 0:
        available()
        return GROUP
    primary = os.getgid()
    others = [gid for gid in os.getgroups() if gid != primary]
    if not others:
        reason = "this user belongs to no second group to share a database with"
        unavailable(reason)
    return grp.getgrgid(others[0]).gr_name


def test_private_by_default(tmp_path: Path, engine_running: list[subprocess.Popen[str]]) -> None:
    data = tmp_path / "data"
    env = environment(tmp_path, data)
    done = dispatch_tui(env, "init")
    assert done.returncode == 0, done.stderr
    own = grp.getgrgid(os.getgid()).gr_name
    assert mode_and_group(data) == (0o700, own)
    assert mode_and_group(data / "db.sqlite") == (0o600, own)

    with_engine_open(env, data, engine_running)
    for name in ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm"):
        assert mode_and_group(data / name) == (0o600, own), name


def test_shared_with_the_configured_group(
    tmp_path: Path, engine_running: list[subprocess.Popen[str]]
) -> None:
    group = a_group_to_share_with()
    data = tmp_path / "data"
    env = environment(tmp_path, data, group)
    done = dispatch_tui(env, "init")
    assert done.returncode == 0, done.stderr
    assert mode_and_group(data) == (0o2770, group)
    assert mode_and_group(data / "db.sqlite") == (0o660, group)

    with_engine_open(env, data, engine_running)
    for name in ("db.sqlite", "db.sqlite-wal", "db.sqlite-shm"):
        assert mode_and_group(data / name) == (0o660, group), name


def test_an_existing_directory_is_left_as_its_owner_made_it(tmp_path: Path) -> None:
    """Only what dispatch-tui makes gets its modes: a directory chosen for the file
    (here 0755) is not changed, the file made in it still is private."""
    data = tmp_path / "chosen"
    data.mkdir()
    data.chmod(0o755)
    done = dispatch_tui(environment(tmp_path, data), "init")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o755
    assert stat.S_IMODE((data / "db.sqlite").stat().st_mode) == 0o600


def test_an_unknown_group_is_named_and_nothing_is_made(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = dispatch_tui(environment(tmp_path, data, "no_such_group_dt"), "init")
    assert done.returncode == 1
    assert "there is no group 'no_such_group_dt' on this machine" in done.stderr
    assert "database.group" in done.stderr
    assert not data.exists()
