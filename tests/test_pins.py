"""Libraries whose output becomes message text, identifiers or snapshots are pinned exactly."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# What each one writes: SMS dates and month names, E.164 numbers, holiday
# calendars for lead times, demo names and addresses, rendered screens, lint verdicts.
EXACT = {
    "babel",
    "phonenumbers",
    "holidays",
    "fpdf2",
    "faker",
    "textual",
    "rich",
    "pytest-textual-snapshot",
    "syrupy",
    "ruff",
    "mypy",
}


def _requirements() -> dict[str, str]:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    project = data["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines.extend(extra)
    found: dict[str, str] = {}
    for line in lines:
        match = re.match(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?(.*)", line)
        assert match, line
        found[match.group(1).lower()] = match.group(3)
    return found


def test_output_libraries_are_pinned_exactly_and_installed_at_the_pin() -> None:
    requirements = _requirements()
    for name in EXACT:
        spec = requirements[name]
        assert spec.startswith("=="), f"{name} must be pinned exactly, not {spec!r}"
        assert version(name) == spec[2:], f"{name} installed {version(name)}, pinned {spec}"


def test_every_other_dependency_has_an_upper_bound() -> None:
    for name, spec in _requirements().items():
        if name in EXACT:
            continue
        assert "<" in spec or "==" in spec, f"{name} {spec!r} has no upper bound"
