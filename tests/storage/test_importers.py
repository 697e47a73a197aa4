"""CSV import: the happy path, idempotent re-import, and a corpus of bad
files, each rejected with a clear message and the database unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.storage.importers import ImportFailed, import_file
from dispatch_tui.storage.tables import audit_log, contact, node, subscriber, subscription
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

PREVIOUS = {
    "utilities": None,
    "network": "utilities",
    "metering-points": "network",
    "subscribers": "metering-points",
}


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_full_import(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    assert count(engine, node) == 13
    assert count(engine, mp) == 6
    assert count(engine, subscriber) == 5
    assert count(engine, contact) == 8
    assert count(engine, subscription) == 7
    assert count(engine, audit_log) == 4
    with engine.connect() as conn:
        paths = dict(conn.execute(select(node.c.code, node.c.path)).all())
        totals = dict(conn.execute(select(node.c.code, node.c.subscriber_count)).all())
        stored = dict(conn.execute(select(contact.c.channel, contact.c.address)).all())
        keys = set(conn.execute(select(mp.c.search_key)).scalars())
    assert paths["EG-TP1"].startswith(paths["EG-R1-S1-F1"])
    assert paths["EG-R1-S1-F1"].startswith(paths["EG-R1"])
    assert totals["EG-R1"] == 2 and totals["Z-R1"] == 2 and totals["EG-TP2"] == 1
    assert stored["telegram"] == "123456789"
    assert "presernova ulica 5 kranj" in keys


def test_reimport_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    before = dump(engine)
    for kind, content in [
        ("utilities", UTILITIES),
        ("network", NETWORK),
        ("metering-points", METERING_POINTS),
        ("subscribers", SUBSCRIBERS),
    ]:
        summary = import_file(engine, kind, write(tmp_path, "again.csv", content), actor="tester")
        assert (summary.inserted, summary.updated) == (0, 0), summary
        assert summary.unchanged == summary.rows
    after = dump(engine)
    # The imports are recorded, and that record tells other terminals to look again.
    for recorded in ("audit_log", "change_counter"):
        after.pop(recorded)
        before.pop(recorded)
    assert after == before


def test_changed_rows_are_updated(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    moved = METERING_POINTS.replace(
        "EG,6-100003,EG-TP2,Kranj,Labore,12a", "EG,6-100003,EG-TP1,Kranj,Labore,12b"
    )
    summary = import_file(engine, "metering-points", write(tmp_path, "m.csv", moved), actor="t")
    assert (summary.inserted, summary.updated) == (0, 1)
    with engine.connect() as conn:
        house, node_code = conn.execute(
            select(mp.c.house, node.c.code)
            .join(node, node.c.id == mp.c.node_id)
            .where(mp.c.mp_id == "6-100003")
        ).one()
        tp2 = conn.execute(select(node.c.mp_count).where(node.c.code == "EG-TP2")).scalar_one()
    assert (house, node_code, tp2) == ("12b", "EG-TP1", 0)


def test_opt_out_survives_reimport(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            contact.update().where(contact.c.address == "+38641123456").values(consent="opted_out")
        )
    import_file(engine, "subscribers", write(tmp_path, "s.csv", SUBSCRIBERS), actor="t")
    with engine.connect() as conn:
        consent = conn.execute(
            select(contact.c.consent).where(contact.c.address == "+38641123456")
        ).scalar_one()
    assert consent == "opted_out"


def test_semicolon_separated_with_bom(engine: Engine, tmp_path: Path) -> None:
    import_file(
        engine,
        "utilities",
        write(tmp_path, "u.csv", b"\xef\xbb\xbf" + UTILITIES.replace(",", ";").encode()),
        actor="t",
    )
    assert count(engine, node) == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 1


HEADER_MP = "utility,mp_id,node,settlement,street,house,eic,meter_number,priority\n"
HEADER_SUB = "utility,account,name,language,phone,email,telegram,viber,metering_points\n"
GOOD_EIC = eic("24Z", 9)
BAD_EIC = GOOD_EIC[:-1] + ("A" if GOOD_EIC[-1] != "A" else "B")

BAD_FILES: list[tuple[str, str | bytes, str]] = [
    ("utilities", b"", "the file is empty (0 bytes)"),
    ("utilities", "code,name,country,timezone,language,contact_phone,sms_sender\n", "no data rows"),
    ("network", "\ufeff\n  \n", "the file is empty (no header line)"),
    ("network", "utility,code\n", "missing column(s): parent, kind, name"),
    ("network", "utility,code,kind,name\nEG,X,region,X\n", "missing column(s): parent"),
    (
        "network",
        "utility,code,parent,kind,name,colour\nEG,X,,region,X,red\n",
        "unknown column 'colour'",
    ),
    (
        "network",
        "utility,code,parent,kind,name\nEG,X,,region\n",
        "line 2: expected 5 fields, found 4",
    ),
    (
        "network",
        "utility,code,parent,kind,name\nEG,X,,region,Ok\nEG,Y,,town,Bad\n",
        "line 3: unknown kind 'town'",
    ),
    ("network", "utility,code,parent,kind,name\nXX,X,,region,Ok\n", "unknown utility 'XX'"),
    (
        "network",
        "utility,code,parent,kind,name\nEG,X,NOPE,substation,Y\n",
        "line 2: unknown parent 'NOPE'",
    ),
    (
        "network",
        "utility,code,parent,kind,name\nEG,A,,region,A\nEG,A,,region,B\n",
        "line 3: duplicate node code 'A' (also on line 2)",
    ),
    (
        "network",
        "utility,code,parent,kind,name\nEG,A,C,substation,A\nEG,B,A,feeder,B\nEG,C,B,transformer_station,C\n",
        "cycle in the network: A → C → B → A",
    ),
    ("network", "utility,code,parent,kind,name\nEG,A,A,region,A\n", "cycle in the network: A → A"),
    (
        "network",
        "utility,code,parent,kind,name\nEG,R,,feeder,R\nEG,S,R,region,S\n",
        "a region cannot be under a feeder",
    ),
    (
        "network",
        "utility,code,parent,kind,name\nEG,Ok,,region,Ok\nEG,Bad,,region,\xe8\n".encode("latin-1"),
        "line 3: not valid UTF-8",
    ),
    (
        "metering-points",
        HEADER_MP + "EG,6-12345,EG-TP1,Kranj,Cesta,1,,,\n",
        "line 2: metering point id",
    ),
    (
        "metering-points",
        HEADER_MP + f"EG,6-100009,EG-TP1,Kranj,Cesta,1,{BAD_EIC},,\n",
        "check character",
    ),
    ("metering-points", HEADER_MP + "EG,6-100009,NOPE,Kranj,Cesta,1,,,\n", "unknown node 'NOPE'"),
    (
        "metering-points",
        HEADER_MP + "EG,6-100009,EG-TP1,Kranj,Cesta,1,,,maybe\n",
        "priority 'maybe'",
    ),
    ("metering-points", HEADER_MP + "EG,6-100009,EG-TP1,,Cesta,1,,,\n", "settlement must be"),
    (
        "metering-points",
        HEADER_MP + "EG,6-100009,EG-TP1,Kranj,Cesta,1,,,\nEG,6100009,EG-TP1,Kranj,Cesta,2,,,\n",
        "line 3: duplicate metering point '6-100009' (also on line 2)",
    ),
    ("metering-points", HEADER_MP + "ZOE,12345678,Z-TP1,Ужгород,вул. Шевченка,1,,,\n", "9 digits"),
    (
        "subscribers",
        HEADER_SUB + "EG,100300,Fixed Line,sl,04 2083 333,,,,6-100001\n",
        "fixed-line number; SMS needs a mobile",
    ),
    (
        "subscribers",
        HEADER_SUB + "EG,100300,X,sl,041 999 888,not-an-email,,,6-100001\n",
        "not-an-email",
    ),
    ("subscribers", HEADER_SUB + "EG,100300,X,de,041 999 888,,,,6-100001\n", "language 'de'"),
    ("subscribers", HEADER_SUB + "EG,100300,X,sl,,,,,6-100001\n", "no contact"),
    (
        "subscribers",
        HEADER_SUB + "EG,100300,X,sl,041 999 888,,,,6-999999\n",
        "unknown metering point '6-999999'",
    ),
    ("subscribers", HEADER_SUB + "EH,12345,X,bg,0888 123 456,,,,1000001\n", "12 digits"),
    (
        "subscribers",
        HEADER_SUB
        + "EG,100300,X,sl,041 999 888,,,,6-100001\nEG,100300,Y,sl,041 999 887,,,,6-100001\n",
        "line 3: duplicate account '100300' (also on line 2)",
    ),
    (
        "subscribers",
        HEADER_SUB + "EG,100300,X,sl,041 999 888,,abc,,6-100001\n",
        "telegram chat id 'abc'",
    ),
]


@pytest.mark.parametrize(
    ("kind", "content", "expected"), BAD_FILES, ids=[e for _k, _c, e in BAD_FILES]
)
def test_bad_file_is_rejected_and_changes_nothing(
    engine: Engine, tmp_path: Path, kind: str, content: str | bytes, expected: str
) -> None:
    previous = PREVIOUS[kind]
    if previous:
        load_all(engine, tmp_path, upto=previous)
    before = dump(engine)
    with pytest.raises(ImportFailed) as info:
        import_file(engine, kind, write(tmp_path, "bad.csv", content), actor="tester")
    assert expected in info.value.report()
    assert "nothing was imported" in info.value.report()
    assert dump(engine) == before


def test_good_rows_are_not_written_when_one_row_is_bad(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path, upto="network")
    bad = METERING_POINTS + "EG,6-100009,EG-TP1,Kranj,Cesta,1,,,perhaps\n"
    before = dump(engine)
    with pytest.raises(ImportFailed, match="line 8: priority"):
        import_file(engine, "metering-points", write(tmp_path, "bad.csv", bad), actor="t")
    assert dump(engine) == before


def test_many_errors_show_the_first_fifty_and_a_count(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path, upto="network")
    rows = "".join(f"EG,bad-{i},EG-TP1,Kranj,Cesta,{i},,,\n" for i in range(120))
    with pytest.raises(ImportFailed) as info:
        import_file(
            engine, "metering-points", write(tmp_path, "bad.csv", HEADER_MP + rows), actor="t"
        )
    report = info.value.report()
    assert "120 errors" in report
    assert "line 51:" in report and "line 52:" not in report
    assert "… and 70 more errors" in report


def test_missing_file_is_a_clear_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="cannot read the file"):
        import_file(engine, "network", tmp_path / "nope.csv", actor="t")
