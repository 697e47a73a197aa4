"""Shared fixtures: a freshly migrated database on SQLite and on PostgreSQL.

Migrating once per session and copying is far cheaper than migrating per
test: SQLite copies a template file, PostgreSQL clones a template database.
PostgreSQL comes from `DISPATCH_TEST_PG_URL` (set by `.ci/run`); without it
the PostgreSQL variants skip with the reason, except under CI, where a
missing server is a failure. It may name several servers, one per test
process (pytest-xdist worker): login roles belong to a whole server, so two
processes testing roles at once on one server would meet each other's.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from dispatch_tui import config
from dispatch_tui.storage import audit, audit_anchor, migrate
from dispatch_tui.storage.db import create_db_engine
from tests.missing import unavailable

PG_ENV = "DISPATCH_TEST_PG_URL"
_counter = itertools.count()

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    # The gate runs the same examples every time, without a per-example deadline
    # (a loaded machine's timing is no verdict): a red CI means the change broke
    # something, not that a new draw did. Developers' runs keep drawing anew.
    settings.load_profile("ci")


def _pg_admin_url() -> str:
    """This test process's server: the worker's own when several are named."""
    urls = os.environ.get(PG_ENV, "").split()
    if not urls:
        reason = f"PostgreSQL not available: set {PG_ENV} (bash .ci/run starts a server)"
        unavailable(reason)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return urls[int(worker) % len(urls) if worker.isdigit() else 0]


def _pg_url(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = create_db_engine(f"sqlite:///{path}")
    migrate.init_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin_url = _pg_admin_url()
    name = f"dt_template_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(_pg_url(admin_url, name))
    migrate.init_database(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def new_pg_database(template: str | None = None) -> tuple[str, Engine]:
    """A new empty (or cloned) PostgreSQL database: (url, admin engine to drop it)."""
    admin_url = _pg_admin_url()
    name = f"dt_{os.getpid()}_{next(_counter)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    clause = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    return _pg_url(admin_url, name), admin


def drop_pg_database(url: str, admin: Engine) -> None:
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a migrated, empty database on the parametrized backend."""
    if backend == "sqlite":
        path = tmp_path / "db.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url, admin = new_pg_database(request.getfixturevalue("pg_template"))
    yield url
    drop_pg_database(url, admin)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """URL of a database with no schema at all (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    url, admin = new_pg_database()
    yield url
    drop_pg_database(url, admin)


@pytest.fixture(scope="session", autouse=True)
def no_host_config() -> Iterator[None]:
    """Settings loaded in-process never read this machine's /etc/dispatch-tui."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config, "SYSTEM_CONFIG_PATH", Path("/nonexistent/system-config.toml"))
        yield


@pytest.fixture(scope="session", autouse=True)
def audit_files_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The audit key and anchors of a test run live in its temporary directory, never in
    the real user's config and data directories (and no anchor goes to syslog)."""
    base = tmp_path_factory.mktemp("audit")
    with audit_anchor.restoring():
        audit.use_key_file(base / "audit.key")
        audit_anchor.use_targets(audit_anchor.AnchorTargets(base / "audit-anchors.log", ""))
        yield


@pytest.fixture(autouse=True)
def audit_configuration_kept() -> Iterator[None]:
    """A test that configures the audit key or anchors (the CLI run in-process does) leaves
    the session's as it found them, so rows keyed earlier still verify."""
    with audit_anchor.restoring():
        yield
