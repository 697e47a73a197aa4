"""On PostgreSQL the public web connects as a login role in `dispatch_web` (migration
0017): it reads the listing and answers a metering point's search, and the database
refuses it everything personal, as it would a colleague with psql in that role."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from dispatch_tui.printable.entrance_notices import notices_html
from dispatch_tui.storage import public_works
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.web.listing import read
from dispatch_tui.web.server import read_only
from tests.factories import approved_outage

WEB = f"pgweb_{os.getpid()}"

REFUSED = [
    "SELECT name FROM subscriber",
    "SELECT account FROM subscriber",
    "SELECT address FROM contact",
    "SELECT address, body FROM message",
    "SELECT created_by FROM outage",
    "SELECT approved_by FROM outage",
    "SELECT title FROM outage",
    "SELECT eic FROM metering_point",
    "SELECT meter_number FROM metering_point",
    "SELECT detail FROM audit_log",
    "SELECT username FROM app_user",
    "SELECT text FROM inbound_message",
    "SELECT token FROM contact_token",
    "SELECT address FROM signup",
    "SELECT * FROM subscription",
]


@pytest.fixture
def web_engine(backend: str, engine: Engine, db_url: str, tmp_path: Path) -> Engine:
    if backend != "postgresql":
        pytest.skip("SQLite is one trust domain: it has no database roles")
    approved_outage(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            text(f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WEB}') THEN
        CREATE ROLE {WEB} LOGIN IN ROLE dispatch_web;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$""")
        )
    url = make_url(db_url).set(username=WEB).render_as_string(hide_password=False)
    web = create_db_engine(url)
    read_only(web)
    return web


def test_the_web_role_reads_the_listing_and_nothing_personal(web_engine: Engine) -> None:
    snapshot = read(web_engine, datetime.now(UTC))
    (work,) = snapshot.works["EG"]
    assert {a.street for a in work.addresses} == {"Prešernova ulica", "Labore"}
    with web_engine.connect() as conn:
        place = snapshot.utilities["EG"]
        assert public_works.metering_point_address(conn, place, "6-100001") is not None
    (work_id,) = {w.outage_id for w in snapshot.works["EG"]}
    assert "Prešernova ulica" in notices_html(web_engine, work_id)  # printable notices too
    for statement in REFUSED:
        with web_engine.connect() as conn, pytest.raises(ProgrammingError, match="permission"):
            conn.execute(text(statement))
    web_engine.dispose()


def test_the_web_connection_refuses_to_write(web_engine: Engine) -> None:
    with web_engine.connect() as conn, pytest.raises(Exception, match=r"read-only|permission"):
        conn.execute(text("UPDATE utility SET name = 'x'"))
    web_engine.dispose()


def test_on_sqlite_the_web_connection_refuses_to_write(
    backend: str, engine: Engine, db_url: str
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL: see the role's test above")
    web = create_db_engine(db_url)
    read_only(web)
    with web.connect() as conn, pytest.raises(Exception, match=r"readonly|read-only"):
        conn.execute(text("UPDATE utility SET name = 'x'"))
    web.dispose()
