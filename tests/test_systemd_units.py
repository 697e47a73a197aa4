"""The service units the README installs: the README quotes the shipped files,
systemd accepts them without a warning, and their command lines parse."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.missing import unavailable

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "dispatch_tui" / "systemd"
NAMES = ["dispatch-tui-engine.service", "dispatch-tui-web.service"]
INSTALLED = "/usr/local/bin/dispatch-tui"


def section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"\n### {title}\n", 1)[1].split("\n## ", 1)[0]


def exec_start(unit: str) -> list[str]:
    found = re.search(r"^ExecStart=(.+)$", unit, re.M)
    assert found is not None
    return shlex.split(found.group(1))


@pytest.mark.parametrize("name", NAMES)
def test_the_readme_quotes_the_shipped_unit(name: str) -> None:
    quoted = re.findall(r"```ini\n(.*?)```", section("Service units"), re.S)
    assert (UNITS / name).read_text() in quoted


@pytest.mark.parametrize("name", NAMES)
def test_systemd_accepts_the_unit(name: str, tmp_path: Path) -> None:
    """`systemd-analyze verify` only warns about an unknown key or a bad value, so
    any output fails; the binary and the accounts are this machine's."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze not installed (apt-get install systemd)")
    here = shutil.which("dispatch-tui") or str(Path(sys.executable).with_name("dispatch-tui"))
    unit = (UNITS / name).read_text().replace(INSTALLED, here)
    unit = re.sub(r"^(User|Group)=.*$", r"\1=root", unit, flags=re.M)
    (tmp_path / name).write_text(unit)
    verified = subprocess.run(
        [analyze, "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout + verified.stderr == ""


@pytest.mark.parametrize("name", NAMES)
def test_the_units_command_line_parses(name: str) -> None:
    """Its options exist (`--help` after them parses them first and changes nothing)."""
    command = exec_start((UNITS / name).read_text())
    assert command[0] == INSTALLED
    here = Path(sys.executable).with_name("dispatch-tui")
    parsed = subprocess.run(
        [str(here), *command[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert parsed.returncode == 0, parsed.stderr
