"""Reading a utility's CSV export strictly: every problem is collected with
its line number, and nothing is written unless the whole file is clean.

Utilities export from Excel in locales that use ';' as the list separator,
with or without a UTF-8 BOM; both are accepted. Anything else that is not
exactly right (an unknown or missing column, a ragged row, bytes that are
not UTF-8) is an error naming the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_SHOWN = 50


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class ImportFailed(Exception):
    """The file was rejected; the database is unchanged."""

    def __init__(self, source: str, errors: Sequence[RowError]) -> None:
        self.source = source
        self.errors = list(errors)
        super().__init__(self.report())

    def report(self) -> str:
        shown = "\n".join(f"  {error}" for error in self.errors[:MAX_SHOWN])
        more = len(self.errors) - MAX_SHOWN
        tail = f"\n  … and {more} more errors" if more > 0 else ""
        count = len(self.errors)
        noun = "error" if count == 1 else "errors"
        return f"{self.source}: {count} {noun}, nothing was imported:\n{shown}{tail}"


@dataclass
class Errors:
    """Collects row errors; `.fail()` raises them all at once."""

    source: str
    items: list[RowError] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.items.append(RowError(line, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def fail(self) -> None:
        if self.items:
            raise ImportFailed(self.source, sorted(self.items, key=lambda e: e.line))


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True)
class CsvRows:
    """The validated header and the data rows with their line numbers."""

    header: dict[str, int]
    rows: list[tuple[int, list[str]]]

    def getter(self, name: str) -> Callable[[list[str]], str]:
        index = self.header.get(name)
        if index is None:
            return lambda _row: ""
        return lambda row: row[index].strip()


def _decode(data: bytes, errors: Errors) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        errors.add(
            line,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at offset {exc.start}); "
            "save the file as UTF-8",
        )
        return None


def read_csv(path: Path, columns: Columns) -> CsvRows:
    """Parse `path` or raise ImportFailed listing every structural problem."""
    errors = Errors(str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        errors.add(0, f"cannot read the file: {exc.strerror or exc}")
        errors.fail()
        raise AssertionError from exc  # unreachable: fail() raised
    if not data:
        errors.add(0, "the file is empty (0 bytes)")
        errors.fail()
    text = _decode(data, errors)
    if text is not None and not text.strip():
        errors.add(0, "the file is empty (no header line)")
    errors.fail()
    assert text is not None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header = _header(reader, columns, errors)
    errors.fail()
    rows: list[tuple[int, list[str]]] = []
    width = len(header)
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                errors.add(line, f"expected {width} fields, found {len(row)}")
                continue
            rows.append((line, row))
    except csv.Error as exc:
        errors.add(reader.line_num, f"malformed CSV: {exc}")
    if not rows and not errors:
        errors.add(0, "no data rows after the header")
    errors.fail()
    return CsvRows(header, rows)


def _header(reader: Iterator[list[str]], columns: Columns, errors: Errors) -> dict[str, int]:
    try:
        raw = next(reader)
    except StopIteration:
        errors.add(0, "the file has no header line")
        return {}
    except csv.Error as exc:
        errors.add(1, f"malformed CSV header: {exc}")
        return {}
    names = [name.strip().lower() for name in raw]
    header: dict[str, int] = {}
    expected = ", ".join(columns.all)
    for index, name in enumerate(names):
        if name in header:
            errors.add(1, f"column '{name}' appears twice")
        elif name not in columns.all:
            errors.add(1, f"unknown column '{name}' (expected: {expected})")
        header[name] = index
    missing = [name for name in columns.required if name not in header]
    if missing:
        errors.add(1, f"missing column(s): {', '.join(missing)} (expected: {expected})")
    return header
