"""Reading anchors back: one file may hold several databases' anchors and syslog lines;
what does not parse is skipped, never fatal; a database is named without its user or
password, so every operator's connection to it gives the same name."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from dispatch_tui.storage.audit_anchor import database_label, read_anchors

DB = "postgresql://db.example:5432/dispatch"


def line(row: int, database: str = DB, **extra: object) -> str:
    data = {
        "database": database,
        "row": row,
        "hash": f"{row:064x}",
        "at": "2026-05-01T10:00:00+00:00",
    }
    return json.dumps(data | extra)


def test_only_this_databases_anchors_are_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "anchors.log"
    path.write_text(
        "\n".join(
            [
                line(1, key="abc", reason="approval"),
                line(2, database="sqlite:////other.sqlite"),
                "May  1 10:00:00 host dispatch-tui: dispatch-tui audit anchor " + line(3) + "\x00",
                "garbage without braces",
                '{"database": "' + DB + '", "row": "x"}',
                "[1, 2]",
                "",
            ]
        )
    )
    with caplog.at_level(logging.WARNING):
        anchors = read_anchors(path, DB)
    assert [(a.row, a.key_id, a.reason) for a in anchors] == [(1, "abc", "approval"), (3, "", "")]
    assert anchors[0].hash == f"{1:064x}" and anchors[0].at.tzinfo is not None
    assert "3 line(s) are not anchors" in caplog.text


def test_a_missing_anchor_file_has_no_anchors(tmp_path: Path) -> None:
    assert read_anchors(tmp_path / "none.log", DB) == []


def test_database_labels_leave_out_who_connects(tmp_path: Path) -> None:
    ana = make_url("postgresql+psycopg://ana:secret@db.example/dispatch")
    bohdan = make_url("postgresql://bohdan@db.example:5432/dispatch")
    assert database_label(ana) == database_label(bohdan) == DB
    relative = make_url("sqlite:///x.sqlite")
    assert database_label(relative) == f"sqlite:///{Path('x.sqlite').resolve()}"
    assert "secret" not in database_label(ana)
