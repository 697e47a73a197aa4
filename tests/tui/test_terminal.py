"""The installed command in a real 80×24 terminal (tmux), keyboard only,
with NO_COLOR set: what an on-call operator over SSH gets."""

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

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None and not os.environ.get("CI"), reason="tmux is not installed"
)


@pytest.fixture
def terminal(tui_template: Path, tmp_path: Path) -> Iterator[Callable[..., str]]:
    assert TMUX is not None, "tmux is required in CI"
    database = tmp_path / "db.sqlite"
    shutil.copyfile(tui_template, database)
    socket = f"dispatch-test-{uuid.uuid4().hex[:8]}"
    command = [str(Path(sys.executable).with_name("dispatch-tui"))]
    env = {
        "DISPATCH_TUI_DATABASE_URL": f"sqlite:///{database}",
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

    def screen(*keys: str, wait_for: str = "", timeout: float = 20) -> str:
        for key in keys:
            subprocess.run([TMUX, "-L", socket, "send-keys", "-t", "t", key], check=True)
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


def test_keyboard_only_at_80x24_without_colour(terminal: Callable[..., str]) -> None:
    first = terminal(wait_for="Elektro Gorenjska")
    assert "ana (dispatcher)" in first
    assert "Elektro Gorenjska" in first and "Закарпаттяобленерго" in first
    expanded = terminal("Enter", wait_for="Gorenjska  ")
    assert "3 MP" in expanded
    selected = terminal("Down", "Space", wait_for="Subscribers:")
    assert "[+]" in selected and "Subscribers: 2" in selected
    outages = terminal("F3", wait_for="Outages")
    assert "Outages" in outages
    terminal("C-q")
