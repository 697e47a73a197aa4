"""Per-operator PostgreSQL roles for the hostile tests (issue 10, "PostgreSQL is the
multi-operator mode"): the CSV sample data, an admin, a dispatcher, two shift leads, a
viewer and the engine's service account, each a LOGIN role of the test cluster made by
`users add` (the engine's by hand, as the README says). The cluster trusts 127.0.0.1,
which stands in for peer authentication: connecting as user=<role> is being that role.

Roles are cluster-wide and outlive a test's database, so their names carry the pid."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from dispatch_tui.storage import users
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import node, utility
from tests.storage.csvdata import load_all

_PID = os.getpid()
ADMIN = f"pgroot_{_PID}"
ANA = f"pgana_{_PID}"
BOHDAN = f"pgbohdan_{_PID}"
OLENA = f"pgolena_{_PID}"
VIKTOR = f"pgviktor_{_PID}"
DMYTRO = f"pgdmytro_{_PID}"
"""A second dispatcher: a colleague of ANA's with the same role."""
SENDER = f"pgengine_{_PID}"
"""The engine's service account."""


@dataclass
class Cluster:
    url: str
    ids: dict[str, int]
    engines: dict[str, Engine]

    def as_role(self, role: str) -> Engine:
        """An engine connected as `role` (what peer authentication gives that OS user)."""
        if role not in self.engines:
            url = make_url(self.url).set(username=role)
            self.engines[role] = create_db_engine(url.render_as_string(hide_password=False))
        return self.engines[role]

    def psql_url(self, role: str) -> str:
        url = make_url(self.url).set(drivername="postgresql", username=role)
        return url.render_as_string(hide_password=False)


def make_engine_account(engine: Engine, login: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login}') THEN
        CREATE ROLE {login} LOGIN;
    END IF;
    IF NOT pg_has_role('{login}', 'dispatch_engine', 'MEMBER') THEN
        GRANT dispatch_engine TO {login};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$""")
        )


@pytest.fixture
def cluster(backend: str, engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    if backend != "postgresql":
        pytest.skip("SQLite is one trust domain: it has no database roles")
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, ADMIN, actor=ADMIN)
    for login, role in (
        (ANA, "dispatcher"),
        (BOHDAN, "shift_lead"),
        (OLENA, "shift_lead"),
        (VIKTOR, "viewer"),
        (DMYTRO, "dispatcher"),
    ):
        users.add_operator(engine, login, role, actor=ADMIN)
    make_engine_account(engine, SENDER)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(node.c.code, node.c.id)).all())
        ids["EG"] = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
    found = Cluster(db_url, ids, {})
    yield found
    for opened in found.engines.values():
        opened.dispose()
