"""The installed app in a real 80×24 terminal (tmux), for the tests that run it as a
second OS user (tests/cli/os_users.py): keys go in with `send-keys`, the screen comes
back as text with `capture-pane`."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.missing import unavailable

Screen = Callable[..., str]
"""screen(*keys, wait_for="", timeout=30): send the keys, then the screen's text once it
shows `wait_for` (or when the time is up)."""


@contextmanager
def terminals() -> Iterator[Callable[[list[str]], Screen]]:
    """start(argv): `argv` running in a fresh 80×24 tmux; every one is killed on leaving.
    The pane stays 5 s after the command ends, so an error message can still be read."""
    tmux = shutil.which("tmux")
    if tmux is None:
        unavailable("tmux is required to run the app in a terminal (.ci/run installs it)")
    sockets: list[str] = []

    def start(argv: list[str]) -> Screen:
        socket = f"dispatch-tui-test-{uuid.uuid4().hex[:8]}"
        sockets.append(socket)
        server = [tmux, "-L", socket]
        command = shlex.join(argv) + "; sleep 5"
        subprocess.run(
            [*server, "new-session", "-d", "-s", "t", "-x", "80", "-y", "24", command], check=True
        )

        def screen(*keys: str, wait_for: str = "", timeout: float = 30) -> str:
            for key in keys:
                subprocess.run([*server, "send-keys", "-t", "t", key], check=True)
                time.sleep(0.3)
            deadline = time.monotonic() + timeout
            while True:
                text = subprocess.run(
                    [*server, "capture-pane", "-p", "-t", "t"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                if wait_for in text or time.monotonic() > deadline:
                    return text
                time.sleep(0.2)

        return screen

    try:
        yield start
    finally:
        for socket in sockets:
            subprocess.run([tmux, "-L", socket, "kill-server"], check=False)
