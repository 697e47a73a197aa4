"""Migrations run up and down on both backends; a newer schema is refused."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from dispatch_tui.storage import migrate
from dispatch_tui.storage.db import DatabaseError, create_db_engine
from dispatch_tui.storage.models import Base


def test_up_down_up_matches_models(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    migrate.init_database(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    migrate.check_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []

    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set()

    migrate.init_database(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_init_twice_is_a_no_op(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    migrate.init_database(engine)
    migrate.init_database(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_unmigrated_database_is_refused(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    with pytest.raises(DatabaseError, match="dispatch-tui init"):
        migrate.check_schema(engine)
    engine.dispose()


def test_newer_database_is_refused_and_left_alone(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    migrate.init_database(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    with pytest.raises(DatabaseError, match="newer dispatch-tui"):
        migrate.check_schema(engine)
    with pytest.raises(DatabaseError, match="newer dispatch-tui"):
        migrate.init_database(engine)
    assert migrate.current_revision(engine) == "ffff_from_the_future"
    engine.dispose()
