"""Priority customers of an outage: listed with names and phones, marked called once each,
by someone allowed to, recorded in the audit log; exported as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.storage import outage_lifecycle, priority
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.tables import audit_log
from tests.storage.test_outages import draft, world

__all__ = ["world"]


@pytest.fixture
def outage_id(engine: Engine, world: dict[str, int]) -> int:
    return outage_lifecycle.create_draft(engine, draft(world), actor="ana")


def test_the_list_names_who_to_call(engine: Engine, outage_id: int) -> None:
    with engine.connect() as conn:
        points = priority.priority_points(conn, outage_id)
        assert priority.uncalled_count(conn, outage_id) == (1, 1)
    assert [p.mp_id for p in points] == ["6-100003"]
    point = points[0]
    assert point.address == "Kranj, Labore 12a"
    assert point.names and point.phones
    assert all(phone.startswith("+386") for phone in point.phones)
    assert point.called_by is None


def test_a_call_is_recorded_once_by_someone_allowed(engine: Engine, outage_id: int) -> None:
    with pytest.raises(OutageError, match="viewer may not record calls"):
        priority.mark_called(engine, outage_id, "6-100003", actor="viktor")
    with pytest.raises(OutageError, match="not a priority metering point"):
        priority.mark_called(engine, outage_id, "6-100001", actor="ana")
    priority.mark_called(engine, outage_id, "6-100003", actor="ana", note="  no answer, left msg ")
    with pytest.raises(OutageError, match="already marked called by ana"):
        priority.mark_called(engine, outage_id, "6-100003", actor="bohdan")
    with engine.connect() as conn:
        (point,) = priority.priority_points(conn, outage_id)
        assert priority.uncalled_count(conn, outage_id) == (1, 0)
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(
                audit_log.c.action == priority.CALLED
            )
        ).all()
    assert point.called_by == "ana" and point.called_at is not None
    assert [tuple(r) for r in rows] == [
        ("ana", {"metering_point": "6-100003", "note": "no answer, left msg"})
    ]


def test_the_csv_has_a_row_per_point(engine: Engine, outage_id: int) -> None:
    priority.mark_called(engine, outage_id, "6-100003", actor="ana")
    with engine.connect() as conn:
        text = priority.priority_csv(priority.priority_points(conn, outage_id))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(priority.CSV_COLUMNS)
    assert [(r["metering_point"], r["called_by"]) for r in rows] == [("6-100003", "ana")]
    assert rows[0]["phones"].startswith("+386")
