"""Real second OS users for the tests where identity matters (tests/security, the
terminal test): they run the installed `dispatch-tui` with `runuser`, so who acts is
decided by the kernel, exactly as for a colleague with a shell on the same host.

`.ci/run` creates the users before the tests; as root, `available()` creates them
too (idempotently), with the same commands. Without root (runuser needs it) or
useradd the tests skip and say why; under CI=true they fail instead.

The users share the group GROUP, which a SQLite database for several operators is
given through `database.group`. They must be able to run the venv's interpreter:
when Python lives under a closed directory (pyenv under /root), each of them is
granted traverse (x) on it by ACL, nothing more.
"""

from __future__ import annotations

import functools
import grp
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import drop_pg_database, new_pg_database
from tests.missing import unavailable

USERS = ("dt_ana", "dt_bohdan", "dt_eve")
GROUP = "dt_operators"
VENV_BIN = Path(sys.executable).parent
DISPATCH_TUI = VENV_BIN / "dispatch-tui"
CHECKOUT = Path(__file__).resolve().parents[2]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _exists(name: str, database: str) -> bool:
    return _run("getent", database, name).returncode == 0


def _create() -> str | None:
    """Make GROUP and USERS (members of GROUP); why not, or None."""
    tools = [t for t in ("useradd", "groupadd", "usermod", "runuser") if shutil.which(t) is None]
    if tools:
        return f"{', '.join(tools)} not found: cannot make or use second OS users"
    if not _exists(GROUP, "group"):
        made = _run("groupadd", GROUP)
        if made.returncode != 0 and not _exists(GROUP, "group"):
            return f"groupadd {GROUP} failed: {made.stderr.strip()}"
    for user in USERS:
        if not _exists(user, "passwd"):
            made = _run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user)
            if made.returncode != 0 and not _exists(user, "passwd"):
                return f"useradd {user} failed: {made.stderr.strip()}"
        groups = _run("id", "-nG", user).stdout.split()
        if GROUP not in groups:
            _run("usermod", "-aG", GROUP, user)
    return None


def _reachable(path: Path) -> bool:
    return _run("runuser", "-u", USERS[-1], "--", "test", "-x", str(path)).returncode == 0


def _open_path_to(target: Path) -> str | None:
    """Let USERS traverse each directory above `target` they cannot enter (ACL u:x)."""
    for directory in [*reversed(target.parents), target]:
        if _reachable(directory):
            continue
        if shutil.which("setfacl") is None:
            return (
                f"{USERS[-1]} cannot enter {directory} and setfacl is not installed "
                "(bash .ci/run installs acl and grants the test users traverse)"
            )
        entries = ",".join(f"u:{user}:x" for user in USERS)
        granted = _run("setfacl", "-m", entries, str(directory))
        if granted.returncode != 0:
            return f"setfacl on {directory} failed: {granted.stderr.strip()}"
    return None


@functools.cache
def _unavailable() -> str | None:
    """Why the second OS users cannot run `dispatch-tui` here, or None when they can."""
    if os.getuid() != 0:
        return "running commands as a second OS user needs root (runuser)"
    reason = _create()
    interpreter = Path(os.path.realpath(VENV_BIN / "python"))
    for target in (interpreter.parent, CHECKOUT):
        reason = reason or _open_path_to(target)
    if reason:
        return reason
    probe = run_as(USERS[-1], "--version", env={})
    if probe.returncode != 0:
        return f"{USERS[-1]} cannot run {DISPATCH_TUI}: {probe.stderr.strip()[-300:]}"
    return None


def available() -> tuple[str, ...]:
    """USERS, ready to run `dispatch-tui`; skips the test (fails it under CI) otherwise."""
    reason = _unavailable()
    if reason is not None:
        message = f"second OS users unavailable: {reason}"
        unavailable(message)
    return USERS


NO_HOME = Path(tempfile.gettempdir()) / "dispatch-tui-test-no-home"
"""Config and data home of commands run without a shared one (USERS cannot write it)."""


def command_as(user: str | None, args: list[str], env: Mapping[str, str]) -> list[str]:
    """The argv that runs `dispatch-tui args` as `user` (None: this process's own user)
    with exactly `env` plus PATH, a locale, no home and a report token (so `init` has no
    config file to write); LOGNAME/USER only if `env` sets them, which is how the attacks
    try to pass for someone else."""
    base = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/nonexistent",
        # Not under /: a command run as root would create it, and other tests rely on
        # /nonexistent not existing.
        "XDG_CONFIG_HOME": str(NO_HOME / "config"),
        "XDG_DATA_HOME": str(NO_HOME / "data"),
        "DISPATCH_TUI_ENGINE_REPORT_TOKEN": "os-users-report-token_0123456789abcdef",
    }
    pairs = [f"{key}={value}" for key, value in {**base, **env}.items()]
    become = [] if user is None else ["runuser", "-u", user, "--"]
    return [*become, "env", "-i", *pairs, str(DISPATCH_TUI), *args]


def run_as(
    user: str | None, *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed `dispatch-tui` as the real OS user `user` (None: as this one)."""
    return subprocess.run(
        command_as(user, list(args), env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh directory under the system temp dir that USERS can enter (0755, owned by
    the test runner): put the database directory and CSV files for them inside."""
    path = Path(tempfile.mkdtemp(prefix="dispatch-tui-users-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Shared:
    """A database USERS and this process's user all write: the variables naming it
    (and the config every one of them uses) and a directory for files they read."""

    env: dict[str, str]
    directory: Path

    @property
    def url(self) -> str:
        return self.env["DISPATCH_TUI_DATABASE_URL"]

    def run(self, user: str | None, *args: str, **claims: str) -> subprocess.CompletedProcess[str]:
        """`dispatch-tui args` as `user`; `claims` are extra variables (LOGNAME=...)."""
        return run_as(user, *args, env={**self.env, **claims})


def _group_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    os.chown(path, -1, grp.getgrnam(GROUP).gr_gid)
    path.chmod(0o2770)
    return path


@contextmanager
def shared_database(
    backend: str, request: pytest.FixtureRequest, *, private_key: bool = False
) -> Iterator[Shared]:
    """A database USERS can write, made with `dispatch-tui init` by this process's user:
    on SQLite a file whose directory is given to GROUP (`database.group`, as a team
    sharing one host sets it up), on PostgreSQL a new database on the test server.
    Everyone shares one config home (group GROUP), so one audit key signs every row,
    as on a host where operators share the database; with ``private_key`` the key is
    this process's user's alone (0600 in a 0700 directory), as the engine's service
    account holds it on a shared host, and USERS' rows wait for it to seal them. Every
    write goes through the installed command, never through this process (whose audit
    key is another)."""
    with shared_directory() as directory:
        home = _group_dir(directory / "home")
        key = _group_dir(home / "config" / "dispatch-tui") / "audit.key"
        key.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        os.chown(key, -1, grp.getgrnam(GROUP).gr_gid)
        key.chmod(0o640)
        _group_dir(home / "data")
        env = {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }
        if private_key:
            service = directory / "service"
            service.mkdir(mode=0o700)
            key.rename(service / "audit.key")
            os.chown(service / "audit.key", -1, os.getgid())
            (service / "audit.key").chmod(0o600)
            env["DISPATCH_TUI_AUDIT_KEY_FILE"] = str(service / "audit.key")
        if backend == "sqlite":
            url = f"sqlite:///{directory / 'data' / 'db.sqlite'}"
            env |= {"DISPATCH_TUI_DATABASE_URL": url, "DISPATCH_TUI_DATABASE_GROUP": GROUP}
            shared = Shared(env, directory)
            _init(shared)
            yield shared
            return
        url, admin = new_pg_database(request.getfixturevalue("pg_template"))
        try:
            shared = Shared({**env, "DISPATCH_TUI_DATABASE_URL": url}, directory)
            _init(shared)
            yield shared
        finally:
            drop_pg_database(url, admin)


def _init(shared: Shared) -> None:
    done = shared.run(None, "init")
    assert done.returncode == 0, done.stderr
