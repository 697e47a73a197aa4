"""The README's "Operators on one host (SQLite)", followed: its shell block run as root
with real second OS users, then both operators' apps open at once in real terminals.

What the block names is mapped to what the tests have (tests/cli/os_users.py):

- alice → dt_ana, bob → dt_bohdan, group dispatch → dt_operators;
- /var/lib/… and /etc/… → the same paths under a fresh directory the users can enter;
- /etc/dispatch-tui/config.toml is read only from its real place, which tests leave
  alone: its stand-in is given to every command with DISPATCH_TUI_CONFIG;
- `dispatch-tui` is the installed command of this checkout, run with a clean environment
  (`os_users.command_as`: it gives a report token, so `init` writes none); each user gets
  a home of their own (0700) for their config and data folders; no anchor goes to syslog;
- `*.csv` are the sample files in tests/storage/csvdata.py.

Every `dispatch-tui` line runs with its arguments as written, as its user, through
`runuser`; `install`, `mkdir` and the heredoc run as written (mapped) as root.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from dispatch_tui.storage import audit
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.importers import import_file
from tests.cli.os_users import (
    GROUP,
    available,
    command_as,
    run_as,
    shared_directory,
)
from tests.cli.terminal import terminals
from tests.storage.csvdata import FILES, write

README = Path(__file__).resolve().parents[2] / "README.md"
TITLE = "Operators on one host (SQLite)"
USERS = {"alice": "dt_ana", "bob": "dt_bohdan"}
OUTSIDER = "dt_eve"
"""A member of GROUP (other tests need her there): run with only her own group
(`runuser -g dt_eve`), her processes are what the kernel sees of an account outside it."""
FOLLOWED = ("groupadd", "usermod", "install", "mkdir", "cat", "runuser")


def the_block() -> list[str]:
    """The section's shell block, one command a step (a heredoc is part of its command)."""
    section = README.read_text().split(f"\n### {TITLE}\n", 1)[1].split("\n### ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found is not None, f"the README's {TITLE!r} has no ```sh block"
    steps: list[str] = []
    heredoc_end: str | None = None
    for line in found.group(1).splitlines():
        if heredoc_end is not None:
            steps[-1] += "\n" + line
            if line == heredoc_end:
                heredoc_end = None
            continue
        steps.append(line)
        opened = re.search(r"<<'(\w+)'", line)
        heredoc_end = opened.group(1) if opened else None
    return steps


@dataclass(frozen=True)
class Host:
    """Where this test's host lives, and how a README line maps onto it."""

    root: Path

    def mapped(self, text: str) -> str:
        text = re.sub(r"(/var/lib|/etc)/dispatch-tui", lambda m: f"{self.root}{m[0]}", text)
        text = re.sub(r"(?<![\w/.-])dispatch(?![\w/.-])", GROUP, text)
        return re.sub(r"\b(alice|bob)\b", lambda m: USERS[m[1]], text)

    @property
    def config(self) -> Path:
        return Path(self.mapped("/etc/dispatch-tui/config.toml"))

    @property
    def data(self) -> Path:
        return Path(self.mapped("/var/lib/dispatch-tui"))

    @property
    def database(self) -> Path:
        return self.data / "dispatch.sqlite"

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    def env(self, user: str) -> dict[str, str]:
        home = self.home(user)
        return {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "DISPATCH_TUI_CONFIG": str(self.config),
            "DISPATCH_TUI_AUDIT_SYSLOG_SOCKET": "",
        }

    def run(self, user: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run_as(user, *args, env=self.env(user))


@pytest.fixture
def host() -> Iterator[Host]:
    available()
    with shared_directory() as root:
        for user in USERS.values():
            home = root / "home" / user
            home.mkdir(parents=True, mode=0o755)
            os.chown(home, *_ids(user))
            home.chmod(0o700)
        (root / "home").chmod(0o755)
        (root / "csv").mkdir(mode=0o755)
        for kind, content in FILES.items():
            write(root / "csv", f"{kind}.csv", content).chmod(0o644)
        yield Host(root)


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def follow(host: Host, step: str) -> subprocess.CompletedProcess[str] | None:
    """One README command, as root on the test's host; a `dispatch-tui` line's outcome."""
    command = host.mapped(step)
    words = shlex.split(command.split("\n", 1)[0], comments=True)
    assert words and words[0] in FOLLOWED, f"the test does not know how to follow: {step}"
    if words[0] == "groupadd":
        # os_users made the group before the test (groupadd again would fail): it exists.
        grp.getgrnam(words[1])
    elif words[0] == "usermod":
        # `usermod -aG dispatch alice && usermod -aG dispatch bob`: os_users made them
        # members already; what the line is for must hold.
        for user in USERS.values():
            assert user in grp.getgrnam(GROUP).gr_mem, f"{user} is not in {GROUP}"
    elif words[0] == "runuser":
        assert words[1] == "-u" and words[3] == "--" and words[4] == "dispatch-tui", step
        user, args = words[2], words[5:]
        # The block's CSV files are relative to where root runs it: the sample files.
        args = [str(host.root / "csv" / a) if a.endswith(".csv") else a for a in args]
        done = host.run(user, *args)
        assert done.returncode == 0, f"{step}\n{done.stderr}"
        return done
    else:
        done = subprocess.run(
            ["bash", "-euc", command], cwd=host.root, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{step}\n{done.stderr}"
    return None


def mode_and_group(path: Path) -> tuple[int, str]:
    info = path.stat()
    return stat.S_IMODE(info.st_mode), grp.getgrgid(info.st_gid).gr_name


def audit_rows(database: Path) -> set[tuple[object, ...]]:
    """(actor, action, sealed) of the audit rows, read (as root, read-only) while the apps
    hold the database open."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return set(conn.execute("SELECT actor, action, hash IS NOT NULL FROM audit_log"))


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)


def at_once(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run `commands` side by side (each starts Python: a second apiece), wait for all."""
    started = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    done = []
    for command, process in zip(commands, started, strict=True):
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


def test_two_operators_share_one_sqlite_database_as_the_readme_says(host: Host) -> None:
    said = {step: follow(host, step) for step in the_block()}
    listed = [done for step, done in said.items() if "dispatch-tui users list" in step]
    assert len(listed) == 1 and listed[0] is not None, "the block lists the users once"
    assert listed[0].stdout.split() == ["dt_ana", "admin", "dt_bohdan", "dispatcher"]
    assert mode_and_group(host.data) == (0o2770, GROUP)
    assert mode_and_group(host.database) == (0o660, GROUP)
    key = Path(host.mapped("/var/lib/dispatch-tui-audit/audit.key"))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_uid == _ids("dt_ana")[0]
    # The block's "and the network, ...": the rest of the sample data, imported as alice
    # (with her key) in this process, which starts three commands fewer.
    audit.use_key_file(key)
    engine = create_db_engine(f"sqlite:///{host.database}", group=GROUP)
    try:
        for kind in ("network", "metering-points", "subscribers"):
            import_file(engine, kind, host.root / "csv" / f"{kind}.csv", actor="dt_ana")
    finally:
        engine.dispose()

    # "Then alice and bob each run `dispatch-tui`": both at once, embedded engines on.
    with terminals() as start:
        alice, bob = (
            start(command_as(user, [], {**host.env(user), "TERM": "xterm-256color"}))
            for user in USERS.values()
        )
        assert "dt_ana (admin)" in alice(wait_for="dt_ana (admin)")
        assert "dt_bohdan (dispatcher)" in bob(wait_for="dt_bohdan (dispatcher)")
        monitor = bob("F6", wait_for="2 alive")
        assert "Processes: 2 alive" in monitor, monitor
        operators = {_ids(user)[0] for user in USERS.values()}
        for suffix in ("", "-wal", "-shm"):
            made = Path(f"{host.database}{suffix}")
            assert mode_and_group(made) == (0o660, GROUP), suffix
            assert made.stat().st_uid in operators, f"{made} was made by an operator's process"

        # bob records an opt-out asked for by phone: his act, under his name, which
        # alice's app (the key's holder) seals within seconds.
        for keys, shown in [
            (["F8"], "customer number"),
            (["100235", "Enter"], "+38631555666"),  # his phone, in the contacts table
            (["o"], "Why"),
            (["asked by phone", "Enter"], "Opt-out recorded"),
        ]:
            screen = bob(*keys, wait_for=shown)
            assert shown in screen, screen
        wait_for(
            "alice's app seals bob's opt-out",
            lambda: ("dt_bohdan", "opt_out", 1) in audit_rows(host.database),
        )
        assert ("dt_ana", "role_change", 1) in audit_rows(host.database)

        # While both apps run: only alice may verify; an account outside the group can
        # neither use nor read the database.
        outsider = ["runuser", "-u", OUTSIDER, "-g", OUTSIDER, "--"]
        verified, refused, kept_out, unread = at_once(
            command_as("dt_ana", ["audit", "verify"], host.env("dt_ana")),
            command_as("dt_bohdan", ["audit", "verify"], host.env("dt_bohdan")),
            [*outsider, *command_as(None, ["users", "list"], host.env(OUTSIDER))],
            [*outsider, "cat", str(host.database)],
        )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("audit log intact"), verified.stdout
    assert refused.returncode != 0
    assert "the audit key is not readable by this account" in refused.stderr, refused.stderr
    assert kept_out.returncode == 1
    assert "cannot open the database" in kept_out.stderr, kept_out.stderr
    assert unread.returncode != 0 and "Permission denied" in unread.stderr
