"""The README's two set-up commands, run as written in a clean clone.

The demo command starts a full-screen app, so it runs on a pseudo-terminal
until the network tree shows, then gets `q`. The test command would run
this very suite again; `PYTEST_ADDOPTS` narrows the inner run to one quick
test while the command itself stays verbatim.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = re.findall(r"```sh\n(python3 -m venv .*?)\n```", (ROOT / "README.md").read_text())


def clean_clone(tmp_path: Path) -> Path:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout to clone")
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    if status.stdout.strip():
        # Uncommitted edits: test what is on disk, as a clone of it would be.
        for line in status.stdout.splitlines():
            name = line[3:]
            if (ROOT / name).is_file():
                shutil.copyfile(ROOT / name, target / name)
    return target


def isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DISPATCH_TUI_", "VIRTUAL_ENV"))
    }
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        TERM="xterm-256color",
        COLUMNS="100",
        LINES="30",
    )
    return env


def test_readme_has_the_two_commands_and_ci_runs_the_second() -> None:
    assert len(COMMANDS) == 2, COMMANDS
    assert "dispatch-tui demo" in COMMANDS[0]
    assert "pytest" in COMMANDS[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert COMMANDS[1] in ci_lines


def test_demo_command_from_a_clean_clone(tmp_path: Path) -> None:
    clone = clean_clone(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # child: run the README's command in the clone, on a 100x30 terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.chdir(clone)
        os.execvpe("bash", ["bash", "-c", COMMANDS[0]], isolated_env(tmp_path))
    screen = b""
    deadline = time.monotonic() + 420
    quit_sent = False
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 1.0)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the terminal closed: the command ended
                    break
                if not chunk:
                    break
                screen += chunk
            if not quit_sent and b"Elektro Gorenjska" in screen:
                time.sleep(0.5)
                os.write(fd, b"\x11")  # ctrl+q
                quit_sent = True
        else:
            os.kill(pid, 9)
            pytest.fail(f"the demo command did not end in time; last output: {screen[-2000:]!r}")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert quit_sent, screen[-3000:]
    assert os.WEXITSTATUS(status) == 0, screen[-3000:]
    assert b"SANDBOX" in screen
    built = list((tmp_path / "data" / "dispatch-tui").glob("demo-*.sqlite"))
    assert built, "the demo database was not created in the user data dir"


def test_test_command_from_a_clean_clone(tmp_path: Path) -> None:
    clone = clean_clone(tmp_path)
    env = isolated_env(tmp_path)
    env["PYTEST_ADDOPTS"] = (
        "-p no:cacheprovider tests/domain/test_text_and_paths.py -k fold_examples"
    )
    result = subprocess.run(
        ["bash", "-c", COMMANDS[1]],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout[-3000:]
