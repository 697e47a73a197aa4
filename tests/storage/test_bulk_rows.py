"""`insert_rows` and `among`, the bulk helpers of the fan-out and the send loop, give
the same rows on both backends: PostgreSQL's path (one array per column into
`unnest`, one array for `= ANY`) must not lose a NULL, a collated string, a
timestamp or a boolean, nor insert over a unique key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Boolean, Column, Engine, Integer, MetaData, Table, Text, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from dispatch_tui.storage.db import (
    among,
    create_db_engine,
    db_value,
    insert_rows,
    write_transaction,
)
from dispatch_tui.storage.models import UTCDateTime, key_string

metadata = MetaData()
sample = Table(
    "bulk_rows_sample",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", key_string(16), unique=True),
    Column("note", Text),
    Column("at", UTCDateTime()),
    Column("flag", Boolean),
)
COLUMNS = ("id", "code", "note", "at", "flag")
AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def table(engine: Engine) -> Iterator[Table]:
    metadata.create_all(engine)
    yield sample
    metadata.drop_all(engine)


def rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(sample).order_by(sample.c.id))]


def test_rows_arrive_as_given_nulls_and_all(engine: Engine, table: Table) -> None:
    with write_transaction(engine) as conn:
        at = db_value(conn, sample.c.at, AT)
        insert_rows(
            conn,
            table,
            COLUMNS,
            [
                (1, "Ab-1", "Prešernova 5 — Шевченка 12", at, True),
                (2, "ab-2", None, at, False),
                (3, "AB-3", None, None, None),
            ],
        )
    assert rows(engine) == [
        (1, "Ab-1", "Prešernova 5 — Шевченка 12", AT, True),
        (2, "ab-2", None, AT, False),
        (3, "AB-3", None, None, None),
    ]


def test_a_column_of_nothing_but_nulls_and_no_rows_at_all(engine: Engine, table: Table) -> None:
    with write_transaction(engine) as conn:
        insert_rows(conn, table, COLUMNS, [])
        insert_rows(conn, table, COLUMNS, [(i, f"c{i}", None, None, None) for i in range(3)])
    assert [r[2:] for r in rows(engine)] == [(None, None, None)] * 3


def test_rows_over_a_unique_key_are_skipped_only_when_asked(engine: Engine, table: Table) -> None:
    with write_transaction(engine) as conn:
        insert_rows(conn, table, ("id", "code"), [(1, "x"), (2, "y")])
    with write_transaction(engine) as conn:
        insert_rows(conn, table, ("id", "code"), [(1, "x"), (3, "z")], unless_conflict=("id",))
    assert [r[:2] for r in rows(engine)] == [(1, "x"), (2, "y"), (3, "z")]
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        insert_rows(conn, table, ("id", "code"), [(4, "x")])
    assert len(rows(engine)) == 3


def test_among_matches_a_long_list_and_an_empty_one(engine: Engine, table: Table) -> None:
    with write_transaction(engine) as conn:
        insert_rows(conn, table, ("id", "code"), [(i, f"c{i}") for i in range(1, 3001)])
    with engine.connect() as conn:
        wanted = list(range(2, 6001, 2))
        found = conn.scalars(select(sample.c.id).where(among(conn, sample.c.id, wanted))).all()
        assert sorted(found) == list(range(2, 3001, 2))
        assert conn.scalars(select(sample.c.id).where(among(conn, sample.c.id, []))).all() == []
        codes = ["c7", "C7", "c11"]
        assert sorted(
            conn.scalars(select(sample.c.code).where(among(conn, sample.c.code, codes)))
        ) == ["c11", "c7"]


def test_timestamps_keep_their_instant(engine: Engine, table: Table) -> None:
    later = AT + timedelta(hours=5)
    with write_transaction(engine) as conn:
        insert_rows(conn, table, ("id", "at"), [(1, db_value(conn, sample.c.at, later))])
    assert rows(engine)[0][3] == later


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_sessions_run_without_jit(db_url: str) -> None:
    """Compiling a short statement costs more than running it: the send loop's claim
    took 139 ms, 123 of them JIT, once autovacuum had analyzed the outbox. Options
    given in the URL are kept beside ours."""
    url = make_url(db_url).update_query_dict({"options": "-c statement_timeout=5000"})
    for given in (db_url, url.render_as_string(hide_password=False)):
        engine = create_db_engine(given)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
            timeout = conn.exec_driver_sql("SHOW statement_timeout").scalar_one()
        engine.dispose()
        assert timeout == ("5s" if given != db_url else "0")
