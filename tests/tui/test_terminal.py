"""The installed command in a real 80×24 terminal (tmux), keyboard only,
with NO_COLOR set: what an on-call operator over SSH gets. It runs as the
OS user running the tests, which is who the header names (LOGNAME and USER
are set to another operator's name and must not count)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatch_tui.os_user import current_login
from dispatch_tui.storage import users
from dispatch_tui.storage.db import create_db_engine

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None and not os.environ.get("CI"), reason="tmux is not installed"
)


@pytest.fixture
def database(tui_template: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the template and this OS user's role in it: root is its admin, any
    other user running the tests is made a dispatcher."""
    path = tmp_path / "db.sqlite"
    shutil.copyfile(tui_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            operator = users.get_operator(conn, current_login())
        if operator is not None:
            return path, operator.role
        users.add_operator(engine, current_login(), "dispatcher", actor="root")
        return path, "dispatcher"
    finally:
        engine.dispose()


@pytest.fixture
def terminal(database: tuple[Path, str], tmp_path: Path) -> Iterator[Callable[..., str]]:
    assert TMUX is not None, "tmux is required in CI"
    path, _role = database
    socket = f"dispatch-test-{uuid.uuid4().hex[:8]}"
    command = [str(Path(sys.executable).with_name("dispatch-tui"))]
    env = {
        "DISPATCH_TUI_DATABASE_URL": f"sqlite:///{path}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NO_COLOR": "1",
        "TERM": "xterm-256color",
        "LOGNAME": "ana",
        "USER": "ana",
    }
    exports = " ".join(f"{k}='{v}'" for k, v in env.items())
    subprocess.run(
        [
            TMUX,
            "-L",
            socket,
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "80",
            "-y",
            "24",
            f"env {exports} {' '.join(command)}; sleep 5",
        ],
        check=True,
    )

    def screen(*keys: str, wait_for: str = "", timeout: float = 20, burst: bool = False) -> str:
        """Send `keys` (one at a time, or all in one write with `burst`), then the screen."""
        for group in [keys] if burst else [(key,) for key in keys]:
            subprocess.run([TMUX, "-L", socket, "send-keys", "-t", "t", *group], check=True)
            time.sleep(0.3)
        deadline = time.monotonic() + timeout
        while True:
            text = subprocess.run(
                [TMUX, "-L", socket, "capture-pane", "-p", "-t", "t"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if wait_for in text or time.monotonic() > deadline:
                return text
            time.sleep(0.2)

    yield screen
    subprocess.run([TMUX, "-L", socket, "kill-server"], check=False)


def test_keyboard_only_at_80x24_without_colour(
    database: tuple[Path, str], terminal: Callable[..., str]
) -> None:
    first = terminal(wait_for="Elektro Gorenjska")
    assert f"{current_login()} ({database[1]})" in first
    assert "ana (dispatcher)" not in first
    assert "Elektro Gorenjska" in first and "Закарпаттяобленерго" in first
    expanded = terminal("Enter", wait_for="Gorenjska  ")
    assert "3 MP" in expanded
    selected = terminal("Down", "Space", wait_for="Subscribers:")
    assert "[+]" in selected and "Subscribers: 2" in selected
    outages = terminal("F3", wait_for="Outages")
    assert "Outages" in outages
    terminal("C-q")


def test_keys_typed_ahead_follow_tab(terminal: Callable[..., str]) -> None:
    """One write of "abc", Tab, "def" (typed ahead over SSH): "def" is in the second field."""
    terminal(wait_for="Elektro Gorenjska")
    terminal("Enter", wait_for="Gorenjska  ")
    terminal("Down", "Space", wait_for="Subscribers:")
    terminal("d", wait_for="Reason customers will read")
    form = terminal("abc", "Tab", "def", burst=True, wait_for="def")
    lines = form.splitlines()
    title = next(i for i, line in enumerate(lines) if line.strip().startswith("Title"))
    reason = next(i for i, line in enumerate(lines) if "Reason customers will read" in line)
    assert "abc" in "".join(lines[title:reason]) and "def" not in "".join(lines[title:reason])
    assert "def" in "".join(lines[reason : reason + 4])
    terminal("C-q")
