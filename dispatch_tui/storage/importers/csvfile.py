"""Reading a utility's CSV export strictly: every problem is collected with
its line number, and nothing is written unless the whole file is clean.

Utilities export from Excel in locales that use ';' as the list separator,
with or without a UTF-8 BOM; both are accepted. Anything else that is not
exactly right (an unknown or missing column, a ragged row, bytes that are
not UTF-8, a NUL byte that no database column can hold) is an error naming
the line.

Files are read as a stream, never whole: an export of a million rows must
not need its size in memory several times over.
"""

from __future__ import annotations

import codecs
import csv
import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MAX_SHOWN = 50
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class ImportFailed(Exception):
    """The file was rejected; the database is unchanged."""

    def __init__(self, source: str, errors: Sequence[RowError], total: int | None = None) -> None:
        self.source = source
        self.errors = list(errors)
        self.total = len(self.errors) if total is None else total
        super().__init__(self.report())

    def report(self) -> str:
        shown = "\n".join(f"  {error}" for error in self.errors[:MAX_SHOWN])
        more = self.total - min(len(self.errors), MAX_SHOWN)
        tail = f"\n  … and {more} more errors" if more > 0 else ""
        noun = "error" if self.total == 1 else "errors"
        return f"{self.source}: {self.total} {noun}, nothing was imported:\n{shown}{tail}"


class Errors:
    """Collects row errors; `.fail()` raises them all at once.

    Only the MAX_SHOWN errors with the lowest line numbers are kept (plus a
    count): a file of a million bad rows must not hold a million messages.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0
        self._kept: list[tuple[int, int, RowError]] = []  # max-heap on (line, order)

    def add(self, line: int, message: str) -> None:
        self.count += 1
        entry = (-line, -self.count, RowError(line, message))
        if len(self._kept) < MAX_SHOWN:
            heapq.heappush(self._kept, entry)
        elif entry > self._kept[0]:
            heapq.heapreplace(self._kept, entry)

    @property
    def items(self) -> list[RowError]:
        """The kept errors in line order."""
        return [error for _line, _order, error in sorted(self._kept, reverse=True)]

    def __bool__(self) -> bool:
        return self.count > 0

    def fail(self) -> None:
        if self.count:
            raise ImportFailed(self.source, self.items, self.count)


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


class _NulWatch:
    """Passes lines to the csv reader and notes whether one held a NUL byte:
    a plain substring test per line, cheaper than looking into every field."""

    def __init__(self, lines: IO[str]) -> None:
        self.lines = lines
        self.seen = False

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            if "\x00" in line:
                self.seen = True
            yield line


@dataclass(frozen=True)
class CsvFile:
    """A CSV file whose header is valid; its rows are read on demand."""

    path: Path
    header: dict[str, int]
    width: int
    delimiter: str

    def getter(self, name: str) -> Callable[[list[str]], str]:
        index = self.header.get(name)
        if index is None:
            return lambda _row: ""
        return lambda row: row[index].strip()

    def estimated_rows(self) -> int:
        """Data rows, counted as line breaks (for progress only)."""
        breaks = 0
        with self.path.open("rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                breaks += chunk.count(b"\n")
        return max(breaks - 1, 1)

    def rows(self, errors: Errors) -> Iterator[tuple[int, list[str]]]:
        """Yield (line, fields) of each well-formed data row; what is wrong
        with the others (ragged rows, NUL bytes, bad CSV or UTF-8) goes to
        `errors`."""
        names = {index: name for name, index in self.header.items()}
        count = 0
        with _open_text(self.path) as text:
            watch = _NulWatch(text)
            reader = csv.reader(watch, delimiter=self.delimiter, strict=True)
            try:
                next(reader, None)
                watch.seen = False
                for row in reader:
                    line = reader.line_num
                    if watch.seen:
                        watch.seen = False
                        index = next((i for i, value in enumerate(row) if "\x00" in value), -1)
                        where = f"column '{names[index]}'" if index in names else "the row"
                        errors.add(
                            line,
                            f"{where} contains a NUL byte (0x00), which no database stores:"
                            " remove it",
                        )
                        continue
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    if len(row) != self.width:
                        errors.add(line, f"expected {self.width} fields, found {len(row)}")
                        continue
                    count += 1
                    yield line, row
            except csv.Error as exc:
                errors.add(reader.line_num, f"malformed CSV: {exc}")
            except UnicodeDecodeError:
                errors.add(*_bad_utf8(self.path))
        if count == 0 and not errors:
            errors.add(0, "no data rows after the header")


def _open_text(path: Path) -> IO[str]:
    """Lines split as csv expects (any line ending, kept as written)."""
    return path.open(encoding="utf-8-sig", newline="")


def _bad_utf8(path: Path) -> tuple[int, str]:
    """Line and message for the first byte of `path` that is not UTF-8."""
    offset, line, pending = 0, 1, b""
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            data = pending + chunk
            try:
                _text, used = codecs.utf_8_decode(data, "strict", not chunk)
            except UnicodeDecodeError as exc:
                line += data.count(b"\n", 0, exc.start)
                return line, (
                    f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at offset "
                    f"{offset + exc.start}); save the file as UTF-8"
                )
            line += data.count(b"\n", 0, used)
            offset += used
            pending = data[used:]
            if not chunk:
                return 0, "not valid UTF-8; save the file as UTF-8"


def read_csv(path: Path, columns: Columns) -> CsvFile:
    """Check that `path` can be read and has the right header, or raise
    ImportFailed; the rows are checked as they are read (`CsvFile.rows`)."""
    errors = Errors(str(path))
    try:
        if path.stat().st_size == 0:
            errors.add(0, "the file is empty (0 bytes)")
            errors.fail()
        with _open_text(path) as text:
            raw, delimiter = _read_header(path, text, errors)
    except OSError as exc:
        errors.add(0, f"cannot read the file: {exc.strerror or exc}")
    errors.fail()
    assert raw is not None
    header = _header(raw, columns, errors)
    errors.fail()
    return CsvFile(path, header, len(raw), delimiter)


def _read_header(path: Path, text: IO[str], errors: Errors) -> tuple[list[str] | None, str]:
    """The header's fields (None after an error) and the delimiter."""
    try:
        delimiter = _delimiter(text.readline())
        text.seek(0)
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        raw = next(reader)
        if _blank(raw) and all(not line.strip() for line in text):
            errors.add(0, "the file is empty (no header line)")
            return None, delimiter
        return raw, delimiter
    except StopIteration:
        errors.add(0, "the file is empty (no header line)")
    except csv.Error as exc:
        errors.add(1, f"malformed CSV header: {exc}")
    except UnicodeDecodeError:
        errors.add(*_bad_utf8(path))
    return None, ","


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _blank(row: list[str]) -> bool:
    return all(not value.strip() for value in row)


def _header(raw: list[str], columns: Columns, errors: Errors) -> dict[str, int]:
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
