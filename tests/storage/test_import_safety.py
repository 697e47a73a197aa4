"""Imports that must be refused the same way on SQLite and PostgreSQL:
changes that would re-interpret stored data, values no database column can
hold, and files far larger than memory should need."""

from __future__ import annotations

import itertools
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.domain.identifiers import InvalidIdentifier
from dispatch_tui.storage.importers import ImportFailed, ImportSummary, import_file
from dispatch_tui.storage.tables import audit_log, node, utility
from dispatch_tui.storage.tables import metering_point as mp
from tests.storage.csvdata import (
    METERING_POINTS,
    NETWORK,
    SUBSCRIBERS,
    UTILITIES,
    dump,
    eic,
    load_all,
    write,
)

HEADER_MP = METERING_POINTS.splitlines()[0] + "\n"
UA_EG = UTILITIES.replace(
    "EG,Elektro Gorenjska,SI,Europe/Ljubljana", "EG,Elektro Gorenjska,UA,Europe/Ljubljana"
)


def refused(engine: Engine, tmp_path: Path, kind: str, content: str | bytes) -> str:
    """Import `content`, expect it refused with the database unchanged; the report."""
    before = dump(engine)
    with pytest.raises(ImportFailed) as info:
        import_file(engine, kind, write(tmp_path, "bad.csv", content), actor="tester")
    assert dump(engine) == before
    return info.value.report()


@pytest.mark.parametrize("upto", ["network", "metering-points", "subscribers"])
def test_country_of_a_utility_with_data_cannot_change(
    engine: Engine, tmp_path: Path, upto: str
) -> None:
    load_all(engine, tmp_path, upto=upto)
    report = refused(engine, tmp_path, "utilities", UA_EG)
    assert "line 2: utility 'EG'" in report
    assert "cannot change its country from SI to UA" in report


def test_country_of_a_utility_without_data_may_change(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path, upto="utilities")
    summary = import_file(engine, "utilities", write(tmp_path, "u.csv", UA_EG), actor="t")
    assert summary.updated == 1
    with engine.connect() as conn:
        country = conn.execute(select(utility.c.country).where(utility.c.code == "EG")).scalar()
    assert country == "UA"


def test_time_zone_may_change_with_data(engine: Engine, tmp_path: Path) -> None:
    """Times are stored in UTC: another zone changes how they are shown, not what they mean."""
    load_all(engine, tmp_path)
    moved = UTILITIES.replace("SI,Europe/Ljubljana", "SI,Europe/Vienna")
    summary = import_file(engine, "utilities", write(tmp_path, "u.csv", moved), actor="t")
    assert summary.updated == 1


NUL_FILES: list[tuple[str, str, str]] = [
    ("utilities", UTILITIES.replace("Elektro Gorenjska", "Elektro\x00Gorenjska"), "name"),
    ("network", NETWORK.replace("TP Labore", "TP\x00Labore"), "name"),
    ("metering-points", METERING_POINTS.replace("Labore,12a", "Lab\x00ore,12a"), "street"),
    ("subscribers", SUBSCRIBERS.replace("Janez Kranjc", "Janez\x00Kranjc"), "name"),
]
PREVIOUS = {
    "utilities": None,
    "network": "utilities",
    "metering-points": "network",
    "subscribers": "metering-points",
}


@pytest.mark.parametrize(
    ("kind", "content", "column"), NUL_FILES, ids=[k for k, _c, _n in NUL_FILES]
)
def test_nul_byte_is_refused_naming_line_and_column(
    engine: Engine, tmp_path: Path, kind: str, content: str, column: str
) -> None:
    if previous := PREVIOUS[kind]:
        load_all(engine, tmp_path, upto=previous)
    line = next(i for i, text in enumerate(content.splitlines(), 1) if "\x00" in text)
    report = refused(engine, tmp_path, kind, content)
    assert f"line {line}: column '{column}' contains a NUL byte" in report


def test_address_too_long_for_the_search_key_is_refused(engine: Engine, tmp_path: Path) -> None:
    """Each part fits its column; together they do not fit the search key."""
    load_all(engine, tmp_path, upto="network")
    row = f"EG,6-100009,EG-TP1,{'K' * 120},{'S' * 200},{'1' * 32},,,\n"
    report = refused(engine, tmp_path, "metering-points", HEADER_MP + row)
    assert "line 2: the address is too long to search" in report
    assert "354 characters" in report


def test_address_that_folds_longer_is_refused(engine: Engine, tmp_path: Path) -> None:
    """Folding can lengthen text (U+FDFA decomposes into 18 characters)."""
    load_all(engine, tmp_path, upto="network")
    row = "EG,6-100009,EG-TP1,Kranj," + "\ufdfa" * 20 + ",1,,,\n"
    report = refused(engine, tmp_path, "metering-points", HEADER_MP + row)
    assert "line 2: the address is too long to search" in report


@pytest.mark.parametrize(
    "name",
    ["utilities-" + "x" * 100 + ".csv", os.fsdecode(b"utilities-\xe8.csv")],
    ids=["long", "not-utf8"],
)
def test_any_file_name_is_recorded(engine: Engine, tmp_path: Path, name: str) -> None:
    """The audit row names the file whatever its name (the column holds 64 characters)."""
    import_file(engine, "utilities", write(tmp_path, name, UTILITIES), actor="t")
    with engine.connect() as conn:
        entity_id, detail = conn.execute(select(audit_log.c.entity_id, audit_log.c.detail)).one()
    assert len(entity_id) <= 64 and entity_id.startswith("utilities-")
    assert detail["file"].startswith("utilities-")


def _eics(start: int) -> Iterator[str]:
    """Valid EICs from serial `start` on (some serials have no check character)."""
    for serial in itertools.count(start):
        try:
            yield eic("24Z", serial)
        except InvalidIdentifier:
            continue


def _metering_points(tmp_path: Path, first: int, rows: int) -> Path:
    lines = [HEADER_MP]
    for i, code in zip(range(first, first + rows), _eics(1000 + first), strict=False):
        station = "EG-TP1" if i % 2 else "EG-TP2"
        lines.append(
            f"EG,6-{200000 + i},{station},Kranj,Prešernova ulica,{i % 300},{code},{70000 + i},no\n"
        )
    return write(tmp_path, f"mp-{first}.csv", "".join(lines))


def _peak_bytes(engine: Engine, path: Path) -> int:
    tracemalloc.start()
    try:
        summary = import_file(engine, "metering-points", path, actor="t")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.inserted == summary.rows
    return peak


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_import_memory_does_not_grow_with_the_file(engine: Engine, tmp_path: Path) -> None:
    """Three times the rows may not take much more memory: validation and
    writing stream in bounded batches (before, every stage held the whole
    file and memory grew with it, to 19 times the file's size). Streaming
    is the same code on both backends, so SQLite shows it (tracemalloc
    makes this slow)."""
    load_all(engine, tmp_path, upto="subscribers")
    small = _peak_bytes(engine, _metering_points(tmp_path, 0, 10_000))
    large = _peak_bytes(engine, _metering_points(tmp_path, 10_000, 30_000))
    assert large < small * 1.5, f"peak {small / 2**20:.1f} MB, then {large / 2**20:.1f} MB"
    with engine.connect() as conn:
        assert len(conn.execute(select(mp.c.id)).all()) == 40_006


def _subscribers(tmp_path: Path, rows: int, changes: dict[int, str]) -> Path:
    """`rows` subscribers of EG, each on two sample metering points; `changes`
    replaces the name of some rows (by index)."""
    lines = [SUBSCRIBERS.splitlines()[0] + "\n"]
    for i in range(rows):
        name = changes.get(i, f"Naročnik {i}")
        lines.append(f"EG,{300000 + i},{name},sl,,n{i}@example.si,,,6-100001;6-10000{1 + i % 3}\n")
    return write(tmp_path, "subs.csv", "".join(lines))


def test_large_files_import_and_reimport_across_chunks(engine: Engine, tmp_path: Path) -> None:
    """Files longer than one write chunk: every row lands once, a re-import
    changes nothing, and changes anywhere in the file are found."""
    load_all(engine, tmp_path, upto="subscribers")
    subscribers = [(s.inserted, s.updated) for s in _import_each(engine, tmp_path)]
    assert subscribers == [(12_000, 0), (0, 0), (0, 3)]
    points = _metering_points(tmp_path, 0, 12_000)
    assert import_file(engine, "metering-points", points, actor="t").inserted == 12_000
    assert import_file(engine, "metering-points", points, actor="t").updated == 0
    lines = points.read_text(encoding="utf-8").splitlines(keepends=True)
    for index in (1, 6_001, 12_000):  # the first, a middle and the last row
        lines[index] = lines[index].replace(",Kranj,", ",Kranj-Primskovo,")
    changed = write(tmp_path, "moved.csv", "".join(lines))
    assert import_file(engine, "metering-points", changed, actor="t").updated == 3
    with engine.connect() as conn:
        totals = dict(conn.execute(select(node.c.code, node.c.subscriber_count)).all())
    assert totals["EG-R1"] == 2 + 12_000


def _import_each(engine: Engine, tmp_path: Path) -> list[ImportSummary]:
    first = _subscribers(tmp_path, 12_000, {})
    summaries = [import_file(engine, "subscribers", first, actor="t")]
    summaries.append(import_file(engine, "subscribers", first, actor="t"))
    renamed = _subscribers(tmp_path, 12_000, {0: "Ana", 5_500: "Bor", 11_999: "Cvetka"})
    summaries.append(import_file(engine, "subscribers", renamed, actor="t"))
    return summaries
