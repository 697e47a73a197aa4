"""Reading a kannel.conf as Kannel 1.4.5 does: `key = value` lines, a group
starting at `group = NAME` and ending at a blank line, `#` comments, quoted
values, and `include = "FILE"` (a file, or every file of a folder), relative
paths taken from the including file's folder.

What smsbox does with a long text cannot be seen in its answers (202 either
way), so `doctor` reads these settings from the file Kannel runs with."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfError", "Group", "parse", "read", "truthy"]

Group = dict[str, str]
MAX_INCLUDES = 50


class ConfError(Exception):
    """A kannel.conf that cannot be read or parsed, with the file and line."""


def _value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1]
    return raw


def parse(text: str, where: str = "kannel.conf") -> list[tuple[Group, str]]:
    """Groups with the place each starts at; an `include` is a group of its own kind."""
    groups: list[tuple[Group, str]] = []
    current: Group | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            current = None
            continue
        if stripped.startswith("#"):
            continue
        key, equals, value = stripped.partition("=")
        if not equals:
            raise ConfError(f"{where}:{number}: not a 'key = value' line: {stripped[:60]!r}")
        key = key.strip().lower()
        if key == "include":
            groups.append(({"include": _value(value)}, f"{where}:{number}"))
            current = None
        elif key == "group":
            current = {"group": _value(value)}
            groups.append((current, f"{where}:{number}"))
        elif current is None:
            raise ConfError(f"{where}:{number}: {key!r} outside a group")
        else:
            current[key] = _value(value)
    return groups


def read(path: Path) -> list[tuple[Group, str]]:
    """Every group of `path` and the files it includes, in order."""
    found: list[tuple[Group, str]] = []
    seen = 0

    def visit(file: Path) -> None:
        nonlocal seen
        seen += 1
        if seen > MAX_INCLUDES:
            raise ConfError(f"{file}: more than {MAX_INCLUDES} included files (a loop?)")
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfError(f"cannot read {file}: {exc.strerror or exc}") from None
        for group, where in parse(text, str(file)):
            if "include" not in group:
                found.append((group, where))
                continue
            target = file.parent / group["include"]
            for each in sorted(target.iterdir()) if target.is_dir() else [target]:
                visit(each)

    visit(path)
    return found


def truthy(value: str | None) -> bool:
    """Kannel's booleans: true, yes, on or 1 (anything else, or absent, is false)."""
    return value is not None and value.strip().lower() in ("true", "yes", "on", "1")
